#pragma once
// The pseudo-spectral step of 2-D incompressible Navier-Stokes in vorticity form on the unit
// torus (SPEC §1), dw/dt + u.grad(w) = nu lap(w) + f, u = (psi_y, -psi_x), -lap(psi) = w, as an
// engine op: one solver object over a batch of independent trajectories, one CPU kernel and one
// CUDA kernel per step (float64 on both). Axis 0 of every (n, n) array is x, axis 1 is y, the
// grid is x_i = i / n (FNO's convention). The data generator (datasets/navier_stokes.hpp)
// builds trajectories from it.
#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/dtype.hpp"

namespace sdkd {

enum class NSScheme {
  fno,    // FNO's recipe: Crank-Nicolson diffusion, explicit Euler advection and forcing
  ifrk4,  // integrating factor (exact diffusion) + classical RK4 for advection and forcing
};
NSScheme parse_ns_scheme(const std::string& name);

// Pseudo-spectral solver for `batch` trajectories that share the grid, viscosity, dt, scheme
// and forcing. The state is `batch` half spectra w_h (batch x n x (n/2+1), numpy's
// unnormalised rfft2 of w, double); grid arrays are batch x n x n, trajectory b at offset
// b * n * n. The nonlinear term u.grad(w) is formed on the grid and cut by FNO's square 2/3 mask
// |k_x|, |k_y| <= (2/3)(n/2). Derivatives use wavenumber 0 for the Nyquist row/column (the
// usual choice; FNO uses -n/2 there, which only touches modes that the mask removes and
// viscosity damps).
//
// Trajectories never interact: on the CPU trajectory b of a batch gets bit for bit the numbers
// of a batch of one (the steps are spread over OpenMP threads, one trajectory per thread at a
// time). With a CUDA device the states live on the GPU and each step is one launch sequence
// for the whole batch (batched cuFFT plans), float64; the initial spectra and the coefficient
// tables are computed on the CPU exactly as for the CPU solver, so the two devices differ only
// by FFT round-off. spectrum() and vorticity() copy back to the host. The solver is move-only.
class NSSolver {
 public:
  NSSolver(int n, double viscosity, double dt, NSScheme scheme, const std::vector<double>& forcing,
           Device device = Device{}, int64_t batch = 1);
  ~NSSolver();
  NSSolver(NSSolver&&) noexcept;
  NSSolver& operator=(NSSolver&&) noexcept;

  void set_vorticity(const double* w);  // batch * n * n grid values; resets steps() to 0
  void step();                          // every trajectory of the batch
  void advance(int64_t steps);

  void vorticity(double* w) const;  // batch * n * n grid values
  // batch * n * (n/2+1) bins, the host copy (fetched from the GPU on a CUDA solver).
  const std::vector<std::complex<double>>& spectrum() const;
  int n() const { return n_; }
  int64_t batch() const { return batch_; }
  Device device() const { return device_; }
  double time() const { return double(steps_) * dt_; }
  int64_t steps() const { return steps_; }

  // Wavenumbers of half-spectrum entry (row r, column c): k_x in [-n/2, n/2), k_y in [0, n/2].
  int kx(int r) const { return r < n_ / 2 ? r : r - n_; }
  int ky(int c) const { return c; }

  // The tendency -mask * FFT(u.grad w) + f_h of batch states w_h (for tests and diagnostics).
  void tendency(const std::vector<std::complex<double>>& w_h, std::vector<std::complex<double>>& out);

  // Bytes one trajectory of an n x n solver holds on `device` (state, stage, scratch; on CUDA
  // also an estimate of cuFFT's work areas), and the largest batch that fits in `fraction` of
  // the memory the device has available now (CUDA: free device memory plus the caching
  // allocator's idle blocks; CPU: available physical memory). At least 1.
  static int64_t bytes_per_trajectory(int n, Device device);
  static int64_t max_batch(int n, Device device, double fraction);

 private:
  struct Buffers;  // where the state and scratch live (engine/src/ns_solver.cpp)
  void check_size(size_t got, size_t per, const char* what) const;

  int n_, nc_;
  int64_t batch_;
  double nu_, dt_;
  NSScheme scheme_;
  Device device_;
  std::unique_ptr<Buffers> buf_;
  int64_t steps_ = 0;
  mutable std::vector<std::complex<double>> w_h_;  // on a GPU solver, refreshed by spectrum()
};

}  // namespace sdkd
