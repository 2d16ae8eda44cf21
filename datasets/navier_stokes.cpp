// generate_ns: one solver per trajectory, trajectories spread over OpenMP threads (or, on a
// CUDA device, run one after another on the device's stream).
#include "datasets/navier_stokes.hpp"

#include <omp.h>

#include <cmath>
#include <exception>

#include "sdkd/error.hpp"

namespace sdkd::data {

namespace {

// Runs trajectory i and writes its frames (T, 1, H, W) to out.
void run_trajectory(const NSConfig& cfg, const std::vector<double>& forcing, int64_t i, float* out) {
  const int n = cfg.solve_resolution, res = cfg.resolution, stride = n / res;
  const auto steps_per_frame = int64_t(std::llround(cfg.frame_interval / cfg.dt));
  NSSolver solver(n, cfg.viscosity, cfg.dt, parse_ns_scheme(cfg.scheme), forcing, cfg.device);
  const auto w0 = grf_sample(cfg, i, n);
  solver.set_vorticity(w0.data());
  std::vector<double> w(size_t(n) * n);
  for (int t = 0; t < cfg.frames; ++t) {
    solver.advance(steps_per_frame);
    solver.vorticity(w.data());
    float* frame = out + size_t(t) * res * res;
    for (int a = 0; a < res; ++a)
      for (int b = 0; b < res; ++b) {
        const double v = w[size_t(a) * stride * n + size_t(b) * stride];
        SDKD_CHECK(std::isfinite(v), "Navier-Stokes generator: trajectory ", i, " blew up before t = ",
                   (t + 1) * cfg.frame_interval, " (non-finite vorticity): reduce dt (now ", cfg.dt,
                   ") or raise solve_resolution");
        frame[size_t(a) * res + b] = float(v);
      }
  }
}

}  // namespace

void generate_ns(const NSConfig& cfg, float* out, const std::function<void(int64_t, int64_t)>& progress) {
  validate(cfg);
  SDKD_CHECK(out != nullptr, "generate_ns: output buffer is null");
  const auto forcing = ns_forcing(cfg.solve_resolution, cfg.forcing_amplitude);
  const size_t per_trajectory = size_t(cfg.frames) * cfg.resolution * cfg.resolution;
  if (cfg.device.is_cuda()) {
    // One stream per device: the trajectories run one after another, each step on the GPU.
    for (int64_t i = 0; i < cfg.trajectories; ++i) {
      run_trajectory(cfg, forcing, i, out + size_t(i) * per_trajectory);
      if (progress) progress(i + 1, cfg.trajectories);
    }
    return;
  }
  int64_t done = 0;
  std::exception_ptr failure;
  // Exceptions must not cross the parallel region: keep the first and rethrow after it.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < cfg.trajectories; ++i) {
    bool skip;
#pragma omp critical(sdkd_ns_failure)
    skip = failure != nullptr;
    if (skip) continue;
    try {
      run_trajectory(cfg, forcing, i, out + size_t(i) * per_trajectory);
#pragma omp critical(sdkd_ns_progress)
      {
        const int64_t finished = ++done;  // inside the critical section: reports arrive in order
        if (progress) progress(finished, cfg.trajectories);
      }
    } catch (...) {
#pragma omp critical(sdkd_ns_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace sdkd::data
