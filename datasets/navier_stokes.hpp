#pragma once
// 2-D incompressible Navier-Stokes in vorticity form on the unit torus (SPEC §1):
//   dw/dt + u.grad(w) = nu lap(w) + f,   u = (psi_y, -psi_x),   -lap(psi) = w,
// with FNO's forcing f = a (sin 2pi(x+y) + cos 2pi(x+y)) and a Gaussian random initial field.
// Axis 0 of every (n, n) array is x, axis 1 is y, the grid is x_i = i / n (FNO's convention).
#include <complex>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/dtype.hpp"

namespace sdkd::data {

struct NSConfig {
  double viscosity = 1e-5;
  int64_t trajectories = 4;
  int frames = 20;              // stored frames at t = frame_interval * (1..frames)
  int resolution = 64;          // stored grid (every k-th solver point, k = solve/stored)
  int solve_resolution = 64;    // solver grid
  double dt = 0.01;
  double frame_interval = 1.0;  // must be a whole number of steps
  std::string scheme = "ifrk4"; // "ifrk4" or "fno"
  uint64_t seed = 0;
  double forcing_amplitude = 0.1;
  double grf_alpha = 2.5;       // initial field spectrum sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)
  double grf_tau = 7.0;
  double grf_sigma = 18.520259177452136;  // 7^1.5, FNO's tau^(alpha - 1) for alpha 2.5
  Device device{};              // where the solver runs; CUDA runs the trajectories one after another
};

// "smoke", "demo", "fno-1e-5", "fno-1e-4", "fno-1e-3"; anything else throws listing these.
NSConfig ns_preset(const std::string& name);
std::vector<std::string> ns_preset_names();

// Throws sdkd::Error naming the field and what was expected (sizes, dt, scheme, CFL hint).
void validate(const NSConfig& cfg);

// Writes cfg.trajectories * cfg.frames * resolution^2 floats, laid out (N, T, 1, H, W), frames
// at t = 1..T (the initial field is not stored), like the `u` array of FNO's data files.
// Trajectories run in parallel over OpenMP threads (on the CPU; on a CUDA device one after
// another on its stream); trajectory i depends only on (seed, i) and the device.
// progress(done, total) is called from one thread at a time after each trajectory.
void generate_ns(const NSConfig& cfg, float* out,
                 const std::function<void(int64_t done, int64_t total)>& progress = {});

// The initial vorticity of trajectory `trajectory` on an n x n grid: FNO's GaussianRF,
//   w = Re(ifft2(c_k * n^2 sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2))), c_0 = 0,
// with c_k standard complex normal (E|c_k|^2 = 1, as torch.randn(cfloat) in FNO's current
// random_fields.py; the 2020 version drew both parts N(0,1), a field sqrt(2) stronger).
// c_k is drawn by wavenumber, not by grid index, so a coarser grid sees exactly the low
// modes of a finer one: the same seed gives the same large scales at any resolution.
std::vector<double> grf_sample(const NSConfig& cfg, int64_t trajectory, int n);

// f on the n x n grid with the given amplitude.
std::vector<double> ns_forcing(int n, double amplitude);

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
// (kernels/cuda/ns_solver.hpp); the initial spectrum and the coefficient tables are computed
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

  struct GpuState;  // device buffers (ns_solver.cpp)
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

}  // namespace sdkd::data
