#pragma once
// 2-D incompressible Navier-Stokes in vorticity form on the unit torus (SPEC §1):
//   dw/dt + u.grad(w) = nu lap(w) + f,   u = (psi_y, -psi_x),   -lap(psi) = w,
// with FNO's forcing f = a (sin 2pi(x+y) + cos 2pi(x+y)) or Kolmogorov's f = -2 pi m a
// cos(2 pi m y) (the second flow: a shear forcing with a known laminar solution and its
// instability), and a Gaussian random initial field.
// Axis 0 of every (n, n) array is x, axis 1 is y, the grid is x_i = i / n (FNO's convention).
#include <complex>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/dtype.hpp"
#include "sdkd/ns_solver.hpp"

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
  // "fno": FNO's f = a (sin 2pi(x+y) + cos 2pi(x+y)); "kolmogorov": the curl of the body force
  // (a sin(2 pi m y), 0), f = -2 pi m a cos(2 pi m y) with m = forcing_wavenumber (ns_forcing).
  std::string forcing = "fno";
  int forcing_wavenumber = 4;
  double grf_alpha = 2.5;       // initial field spectrum sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)
  double grf_tau = 7.0;
  double grf_sigma = 18.520259177452136;  // 7^1.5, FNO's tau^(alpha - 1) for alpha 2.5
  Device device{};              // where the solver runs (not a parameter of the data: both devices
                                // give the same frames to float64 round-off)
};

// "smoke", "demo", "fno-1e-5", "fno-1e-4", "fno-1e-3"; anything else throws listing these.
NSConfig ns_preset(const std::string& name);
std::vector<std::string> ns_preset_names();

// Throws sdkd::Error naming the field and what was expected (sizes, dt, scheme, CFL hint).
void validate(const NSConfig& cfg);

// Trajectories are run in batches; a batch is handed over whole, in order, before the next one
// starts. On the CPU the trajectories of a batch run in parallel over OpenMP threads (one
// trajectory per thread at a time); on a CUDA device a batch is one batched solver on the
// device's stream. Trajectory i depends only on (seed, i) and the device, never on the batch.
//
// sink(first, count, frames) receives trajectories [first, first + count), frames laid out
// (count, T, 1, H, W) float32, frames at t = 1..T (the initial field is not stored), like the
// `u` array of FNO's data files. progress(done, total) counts finished trajectories of
// [0, total), those before `first` included; it is called from one thread at a time, after
// each trajectory on the CPU and after each batch on a GPU.
using NSBatchSink = std::function<void(int64_t first, int64_t count, const float* frames)>;
using NSProgress = std::function<void(int64_t done, int64_t total)>;

// Runs trajectories [first, cfg.trajectories) in batches of `batch` (0: automatic, see
// ns_batch_size).
void generate_ns_batches(const NSConfig& cfg, int64_t first, int64_t batch, const NSBatchSink& sink,
                         const NSProgress& progress = {});

// The automatic batch for `remaining` trajectories on cfg.device. CUDA: enough states per launch
// to fill the device (kNsGpuPointsPerLaunch grid points), at most what half of the device's
// available memory holds. CPU: one trajectory per OpenMP thread for the first batch;
// generate_ns_batches then grows it to whole rounds of about kNsCpuBatchSeconds, so that
// writing a batch out costs ~1 % (a kill still loses at most that batch).
int64_t ns_batch_size(const NSConfig& cfg, int64_t remaining);
inline constexpr int64_t kNsGpuPointsPerLaunch = int64_t(1) << 23;
inline constexpr double kNsCpuBatchSeconds = 2.0;

// All trajectories into out (cfg.trajectories * cfg.frames * resolution^2 floats, (N, T, 1, H, W)).
void generate_ns(const NSConfig& cfg, float* out, const NSProgress& progress = {});

// The initial vorticity of trajectory `trajectory` on an n x n grid: FNO's GaussianRF,
//   w = Re(ifft2(c_k * n^2 sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2))), c_0 = 0,
// with c_k standard complex normal (E|c_k|^2 = 1, as torch.randn(cfloat) in FNO's current
// random_fields.py; the 2020 version drew both parts N(0,1), a field sqrt(2) stronger).
// c_k is drawn by wavenumber, not by grid index, so a coarser grid sees exactly the low
// modes of a finer one: the same seed gives the same large scales at any resolution.
std::vector<double> grf_sample(const NSConfig& cfg, int64_t trajectory, int n);

// FNO's f on the n x n grid with the given amplitude.
std::vector<double> ns_forcing(int n, double amplitude);
// cfg's forcing (cfg.forcing, its amplitude and wavenumber) on the n x n grid.
std::vector<double> ns_forcing(const NSConfig& cfg, int n);

// Kolmogorov flow: the laminar solution of cfg's forcing, w_L = f / (nu (2 pi m)^2) =
// -a cos(2 pi m y) / (nu 2 pi m), the vorticity of the shear flow u = (a sin(2 pi m y) /
// (nu (2 pi m)^2), 0). It is steady (nu lap w_L = -f, and u.grad w_L = 0 for a flow along x
// that varies in y only) and unstable above a critical Reynolds number
// Re = U / (nu 2 pi m) = a / (nu^2 (2 pi m)^3) (kolmogorov_reynolds). cfg.forcing must be
// "kolmogorov".
std::vector<double> kolmogorov_laminar(const NSConfig& cfg, int n);
double kolmogorov_reynolds(const NSConfig& cfg);

// The solver itself is an engine op (sdkd/ns_solver.hpp): its step has a CPU and a CUDA
// kernel. The dataset layer builds trajectories with it under its old names.
using sdkd::NSScheme;
using sdkd::NSSolver;
using sdkd::parse_ns_scheme;

}  // namespace sdkd::data
