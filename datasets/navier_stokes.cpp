// generate_ns: trajectories in batches. On the CPU a batch's trajectories are spread over
// OpenMP threads, each with a solver of batch one (a whole trajectory per thread keeps its
// scratch in that core's cache and needs no synchronisation per step); on a CUDA device a batch
// is one batched solver, one launch sequence per step for all its trajectories.
#include "sdkd/datasets/navier_stokes.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "sdkd/error.hpp"

namespace sdkd::data {

namespace {

int64_t steps_per_frame(const NSConfig& cfg) { return int64_t(std::llround(cfg.frame_interval / cfg.dt)); }

// Frame t (0-based) of trajectory i: every stride-th point of the solver grid w (n x n).
void store_frame(const NSConfig& cfg, int64_t i, int t, const double* w, float* frame) {
  const int n = cfg.solve_resolution, res = cfg.resolution, stride = n / res;
  for (int a = 0; a < res; ++a)
    for (int b = 0; b < res; ++b) {
      const double v = w[size_t(a) * stride * n + size_t(b) * stride];
      SDKD_CHECK(std::isfinite(v), "Navier-Stokes generator: trajectory ", i, " blew up before t = ",
                 (t + 1) * cfg.frame_interval, " (non-finite vorticity): reduce dt (now ", cfg.dt,
                 ") or raise solve_resolution");
      frame[size_t(a) * res + b] = float(v);
    }
}

// Runs trajectory i alone on the CPU and writes its frames (T, 1, H, W) to out.
void run_trajectory(const NSConfig& cfg, const std::vector<double>& forcing, int64_t i, float* out) {
  const int n = cfg.solve_resolution, res = cfg.resolution;
  NSSolver solver(n, cfg.viscosity, cfg.dt, parse_ns_scheme(cfg.scheme), forcing, cfg.device);
  const auto w0 = grf_sample(cfg, i, n);
  solver.set_vorticity(w0.data());
  std::vector<double> w(size_t(n) * n);
  for (int t = 0; t < cfg.frames; ++t) {
    solver.advance(steps_per_frame(cfg));
    solver.vorticity(w.data());
    store_frame(cfg, i, t, w.data(), out + size_t(t) * res * res);
  }
}

// Trajectories [first, first + count) on the CPU, threads over trajectories.
void run_batch_cpu(const NSConfig& cfg, const std::vector<double>& forcing, int64_t first, int64_t count,
                   float* out, const NSProgress& progress) {
  const size_t per = size_t(cfg.frames) * cfg.resolution * cfg.resolution;
  if (count == 1) {
    // Outside a parallel region the solver's FFTs spread their four maps over the threads
    // (the same numbers: each map is transformed on its own).
    run_trajectory(cfg, forcing, first, out);
    if (progress) progress(first + 1, cfg.trajectories);
    return;
  }
  int64_t done = first;
  std::exception_ptr failure;
  // Exceptions must not cross the parallel region: keep the first and rethrow after it.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t j = 0; j < count; ++j) {
    bool skip;
#pragma omp critical(sdkd_ns_failure)
    skip = failure != nullptr;
    if (skip) continue;
    try {
      run_trajectory(cfg, forcing, first + j, out + size_t(j) * per);
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

// Trajectories [first, first + count) as one batched solver on cfg.device (a GPU).
void run_batch_device(const NSConfig& cfg, const std::vector<double>& forcing, int64_t first, int64_t count,
                      float* out) {
  const int n = cfg.solve_resolution, res = cfg.resolution;
  const size_t P = size_t(n) * n;
  NSSolver solver(n, cfg.viscosity, cfg.dt, parse_ns_scheme(cfg.scheme), forcing, cfg.device, count);
  std::vector<double> w(size_t(count) * P);
  // The initial fields are CPU work (Philox draws and an FFT each): spread them over threads.
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < count; ++j) {
    const auto w0 = grf_sample(cfg, first + j, n);
    std::copy(w0.begin(), w0.end(), w.begin() + std::ptrdiff_t(size_t(j) * P));
  }
  solver.set_vorticity(w.data());
  for (int t = 0; t < cfg.frames; ++t) {
    solver.advance(steps_per_frame(cfg));
    solver.vorticity(w.data());
    for (int64_t j = 0; j < count; ++j)
      store_frame(cfg, first + j, t, w.data() + size_t(j) * P, out + (size_t(j) * cfg.frames + t) * res * res);
  }
}

}  // namespace

int64_t ns_batch_size(const NSConfig& cfg, int64_t remaining) {
  SDKD_CHECK(remaining >= 1, "ns_batch_size: expected at least one trajectory to run, got ", remaining);
  if (!cfg.device.is_cuda()) return std::min<int64_t>(remaining, omp_get_max_threads());
  const int64_t n = cfg.solve_resolution;
  const int64_t fill = (kNsGpuPointsPerLaunch + n * n - 1) / (n * n);
  return std::min({remaining, fill, NSSolver::max_batch(cfg.solve_resolution, cfg.device, 0.5)});
}

void generate_ns_batches(const NSConfig& cfg, int64_t first, int64_t batch, const NSBatchSink& sink,
                         const NSProgress& progress) {
  validate(cfg);
  SDKD_CHECK(first >= 0 && first <= cfg.trajectories, "generate_ns: first trajectory ", first,
             " is outside [0, ", cfg.trajectories, "]");
  SDKD_CHECK(batch >= 0, "generate_ns: batch must be >= 1 (or 0 for automatic), got ", batch);
  SDKD_CHECK(bool(sink), "generate_ns: no sink for the finished batches");
  const auto forcing = ns_forcing(cfg, cfg.solve_resolution);
  const size_t per = size_t(cfg.frames) * cfg.resolution * cfg.resolution;
  const bool cuda = cfg.device.is_cuda();
  std::vector<float> frames;
  int64_t next = batch;  // the size of the coming batch (0: not chosen yet)
  for (int64_t begin = first; begin < cfg.trajectories;) {
    const int64_t remaining = cfg.trajectories - begin;
    const int64_t count = std::min(remaining, next > 0 ? next : ns_batch_size(cfg, remaining));
    frames.resize(size_t(count) * per);
    const auto t0 = std::chrono::steady_clock::now();
    if (cuda) {
      run_batch_device(cfg, forcing, begin, count, frames.data());
      if (progress) progress(begin + count, cfg.trajectories);
    } else {
      run_batch_cpu(cfg, forcing, begin, count, frames.data(), progress);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink(begin, count, frames.data());
    begin += count;
    if (batch == 0 && !cuda) {
      // Whole rounds of one trajectory per thread, as many as take about kNsCpuBatchSeconds.
      const int64_t threads = omp_get_max_threads();
      const double per_round = seconds / double((count + threads - 1) / threads);
      const double rounds = per_round > 0 ? std::floor(kNsCpuBatchSeconds / per_round) : 1024.0;
      next = threads * int64_t(std::clamp(rounds, 1.0, 1024.0));
    } else if (batch == 0) {
      next = count;  // the device's batch stays what memory and occupancy chose
    }
  }
}

void generate_ns(const NSConfig& cfg, float* out, const NSProgress& progress) {
  SDKD_CHECK(out != nullptr, "generate_ns: output buffer is null");
  const size_t per = size_t(cfg.frames) * cfg.resolution * cfg.resolution;
  generate_ns_batches(
      cfg, 0, 0,
      [&](int64_t first, int64_t count, const float* frames) {
        std::copy(frames, frames + size_t(count) * per, out + size_t(first) * per);
      },
      progress);
}

}  // namespace sdkd::data
