#pragma once
// The pseudo-spectral step of 2-D incompressible Navier-Stokes in vorticity form on the unit
// torus (SPEC §1), dw/dt + u.grad(w) = nu lap(w) + f, u = (psi_y, -psi_x), -lap(psi) = w, as an
// engine op: one solver object, one CPU kernel and one CUDA kernel per step (float64 on both).
// Axis 0 of every (n, n) array is x, axis 1 is y, the grid is x_i = i / n (FNO's convention).
// The data generator (datasets/navier_stokes.hpp) builds trajectories from it.
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

// Pseudo-spectral solver for one trajectory. The state is the half spectrum w_h (n x (n/2+1),
// numpy's unnormalised rfft2 of w, double). The nonlinear term u.grad(w) is formed on the
// grid and cut by FNO's square 2/3 mask |k_x|, |k_y| <= (2/3)(n/2). Derivatives use wavenumber
// 0 for the Nyquist row/column (the usual choice; FNO uses -n/2 there, which only touches
// modes that the mask removes and viscosity damps).
//
// With a CUDA device the state lives on the GPU and each step runs there in float64
// (a kernel of the CUDA backend); the initial spectrum and the coefficient tables are computed
// on the CPU exactly as for the CPU solver, so the two differ only by FFT round-off.
// spectrum() and vorticity() copy back to the host. The solver is move-only.
class NSSolver {
 public:
  NSSolver(int n, double viscosity, double dt, NSScheme scheme, const std::vector<double>& forcing,
           Device device = Device{});
  ~NSSolver();
  NSSolver(NSSolver&&) noexcept;
  NSSolver& operator=(NSSolver&&) noexcept;

  void set_vorticity(const double* w);  // n*n grid values
  void step();
  void advance(int64_t steps);

  void vorticity(double* w) const;  // n*n grid values
  const std::vector<std::complex<double>>& spectrum() const;  // the host copy (fetched from the GPU)
  int n() const { return n_; }
  Device device() const { return device_; }
  double time() const { return double(steps_) * dt_; }
  int64_t steps() const { return steps_; }

  // Wavenumbers of half-spectrum entry (row r, column c): k_x in [-n/2, n/2), k_y in [0, n/2].
  int kx(int r) const { return r < n_ / 2 ? r : r - n_; }
  int ky(int c) const { return c; }

  // The tendency -mask * FFT(u.grad w) + f_h of a state w_h (for tests and diagnostics).
  void tendency(const std::vector<std::complex<double>>& w_h, std::vector<std::complex<double>>& out);

 private:
  void step_fno();
  void step_ifrk4();

  struct GpuState;  // device buffers (engine/src/ns_solver.cpp)
  void init_gpu();

  int n_, nc_;
  double nu_, dt_;
  NSScheme scheme_;
  Device device_;
  std::unique_ptr<GpuState> gpu_;
  int64_t steps_ = 0;
  mutable std::vector<std::complex<double>> w_h_;  // on a GPU solver, refreshed by spectrum()
  std::vector<std::complex<double>> f_h_;
  std::vector<double> lam_, inv_lam_, dkx_, dky_, mask_;  // per half-spectrum entry
  std::vector<double> cn_keep_, cn_div_, ef_full_, ef_half_;
  // scratch
  std::vector<std::complex<double>> deriv_h_, product_h_, k1_, k2_, k3_, k4_, stage_;
  std::vector<double> deriv_, product_;
};

}  // namespace sdkd
