// The float64 Navier-Stokes solver on CUDA (cuFFT Z2D/D2Z + fused spectral updates) against
// the CPU solver, both schemes, 32^2 and 64^2, from FNO's random initial field with forcing.
//
// What is compared: the vorticity on the grid, as the relative L2 error ||w_gpu - w_cpu|| /
// ||w_cpu||, and the half spectra likewise. Both solvers start from the same spectrum (computed
// on the CPU) and use the same coefficient tables, so they differ only by FFT round-off
// (~1e-16 relative per transform). One step: bound 1e-10. After 100 steps round-off grows
// through the nonlinear term (chaotic at low viscosity, mildly here): bound 1e-8.
// Batched: one CUDA solver over several trajectories (one launch sequence per step) against
// one CPU solver per trajectory, including the paper preset's own grid and step (fno-1e-5:
// 256^2, dt 1e-4, nu 1e-5) over a short horizon.
#include <algorithm>
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "common/toy.hpp"
#include "cuda_test.hpp"
#include "sdkd/datasets/navier_stokes.hpp"

using namespace sdkd;
using namespace sdkd::data;
using namespace sdkd::test;
using cd = std::complex<double>;

namespace {

struct Case {
  int n;
  NSScheme scheme;
  double dt;
};

// ifrk4 at its usual dt; fno's explicit Euler needs a 10x smaller one (ns_config.cpp's CFL notes).
const Case kCases[] = {{32, NSScheme::ifrk4, 1e-2}, {64, NSScheme::ifrk4, 1e-2}, {32, NSScheme::fno, 1e-3},
                       {64, NSScheme::fno, 1e-3}};

std::string name(const Case& c) {
  return std::string(c.scheme == NSScheme::fno ? "fno" : "ifrk4") + " at " + std::to_string(c.n) + "^2";
}

void compare(const NSSolver& gpu, const NSSolver& cpu, double bound, const std::string& what) {
  const int n = cpu.n();
  std::vector<double> wg(size_t(n) * n), wc(size_t(n) * n);
  gpu.vorticity(wg.data());
  cpu.vorticity(wc.data());
  const double ew = rel_l2(wg, wc), es = rel_l2(gpu.spectrum(), cpu.spectrum());
  INFO(what << ": vorticity rel L2 " << ew << ", spectrum rel L2 " << es << " (bound " << bound << ")");
  CHECK(ew <= bound);
  CHECK(es <= bound);
}

}  // namespace

TEST_CASE("Navier-Stokes on CUDA: the tendency equals the CPU's", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  for (const Case& c : kCases) {
    const auto f = ns_forcing(c.n, 0.1);
    NSSolver cpu(c.n, 1e-3, c.dt, c.scheme, f), gpu(c.n, 1e-3, c.dt, c.scheme, f, kCuda);
    const auto w = grf_sample(NSConfig{}, 3, c.n);
    cpu.set_vorticity(w.data());
    std::vector<cd> tc, tg;
    cpu.tendency(cpu.spectrum(), tc);
    gpu.tendency(cpu.spectrum(), tg);
    INFO(name(c) << ": tendency rel L2 " << rel_l2(tg, tc));
    CHECK(rel_l2(tg, tc) <= 1e-12);
  }
}

TEST_CASE("Navier-Stokes on CUDA: one step and 100 steps match the CPU solver", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  for (const Case& c : kCases) {
    const auto f = ns_forcing(c.n, 0.1);
    NSSolver cpu(c.n, 1e-3, c.dt, c.scheme, f), gpu(c.n, 1e-3, c.dt, c.scheme, f, kCuda);
    REQUIRE(gpu.device() == kCuda);
    const auto w0 = grf_sample(NSConfig{}, 1, c.n);
    cpu.set_vorticity(w0.data());
    gpu.set_vorticity(w0.data());
    compare(gpu, cpu, 1e-14, name(c) + ", initial state");  // same CPU transform on both sides
    cpu.step();
    gpu.step();
    compare(gpu, cpu, 1e-10, name(c) + ", 1 step");
    cpu.advance(99);
    gpu.advance(99);
    REQUIRE(gpu.steps() == 100);
    compare(gpu, cpu, 1e-8, name(c) + ", 100 steps");
  }
}

TEST_CASE("generate_ns on CUDA writes the CPU's frames", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  NSConfig cfg = tiny_ns_config(2, 0.01, 0.5);
  cfg.viscosity = 1e-3;
  std::vector<float> cpu(size_t(2 * 2 * 16 * 16)), gpu(cpu.size());
  generate_ns(cfg, cpu.data());
  cfg.device = kCuda;
  int64_t reported = 0;
  generate_ns(cfg, gpu.data(), [&](int64_t done, int64_t) { reported = done; });
  CHECK(reported == 2);
  // 100 steps in double, stored as float32: the frames agree to float rounding.
  const std::vector<double> a(gpu.begin(), gpu.end()), b(cpu.begin(), cpu.end());
  INFO("frames rel L2 " << rel_l2(a, b));
  CHECK(rel_l2(a, b) <= 1e-6);
}

namespace {

// Trajectories ids of cfg on one batched CUDA solver and on one CPU solver each, `steps` steps;
// returns the worst per-trajectory relative L2 difference of the vorticity.
double batch_vs_cpu(const NSConfig& cfg, const std::vector<int>& ids, int64_t steps) {
  const int n = cfg.solve_resolution;
  const size_t P = size_t(n) * n;
  const auto f = ns_forcing(n, cfg.forcing_amplitude);
  const NSScheme scheme = parse_ns_scheme(cfg.scheme);
  NSSolver gpu(n, cfg.viscosity, cfg.dt, scheme, f, kCuda, int64_t(ids.size()));
  std::vector<double> w0;
  for (int id : ids) {
    const auto w = grf_sample(cfg, id, n);
    w0.insert(w0.end(), w.begin(), w.end());
  }
  gpu.set_vorticity(w0.data());
  gpu.advance(steps);
  std::vector<double> wg(ids.size() * P), wc(P);
  gpu.vorticity(wg.data());
  double worst = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    NSSolver cpu(n, cfg.viscosity, cfg.dt, scheme, f);
    cpu.set_vorticity(w0.data() + b * P);
    cpu.advance(steps);
    cpu.vorticity(wc.data());
    const std::vector<double> g(wg.begin() + std::ptrdiff_t(b * P), wg.begin() + std::ptrdiff_t((b + 1) * P));
    const double e = rel_l2(g, wc);
    UNSCOPED_INFO("trajectory " << ids[b] << ": vorticity rel L2 " << e << " after " << steps << " steps");
    CHECK(rel_l2(wc, std::vector<double>(w0.begin() + std::ptrdiff_t(b * P), w0.begin() + std::ptrdiff_t((b + 1) * P))) > 1e-6);
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace

TEST_CASE("Navier-Stokes on CUDA: a batch matches the CPU trajectory by trajectory", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  for (const Case& c : kCases) {
    NSConfig cfg;
    cfg.solve_resolution = c.n;
    cfg.resolution = c.n;
    cfg.dt = c.dt;
    cfg.scheme = c.scheme == NSScheme::fno ? "fno" : "ifrk4";
    cfg.viscosity = 1e-3;
    INFO(name(c));
    // Duplicates on purpose: the two copies of trajectory 4 must not see each other.
    CHECK(batch_vs_cpu(cfg, {4, 0, 4}, 50) <= 1e-9);
  }
}

TEST_CASE("Navier-Stokes on CUDA: the fno-1e-5 trajectory agrees with the CPU to round-off", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  // The paper preset's solver (256^2, dt 1e-4, nu 1e-5, Crank-Nicolson + Euler), 200 steps
  // (t = 0.02): the two devices differ by FFT round-off only, which the nonlinear term has
  // not yet amplified (measured on the CPU against itself: ~1e-15 per step).
  const NSConfig cfg = ns_preset("fno-1e-5");
  CHECK(batch_vs_cpu(cfg, {0, 1}, 200) <= 1e-10);
}

TEST_CASE("generate_ns on CUDA in batches writes the CPU's frames, whatever the batch", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  NSConfig cfg = tiny_ns_config(5, 0.01, 0.5);
  cfg.viscosity = 1e-3;
  const size_t per = size_t(cfg.frames) * 16 * 16;
  std::vector<float> cpu(5 * per);
  generate_ns(cfg, cpu.data());
  cfg.device = kCuda;
  CHECK(ns_batch_size(cfg, 5) == 5);  // 32^2 grids: the device holds them all in one launch
  std::vector<float> one, two;
  for (int64_t batch : {int64_t(2), int64_t(0)}) {
    std::vector<float> gpu(5 * per, -1.0f);
    int64_t calls = 0;
    generate_ns_batches(cfg, 1, batch, [&](int64_t first, int64_t count, const float* frames) {
      std::copy(frames, frames + size_t(count) * per, gpu.begin() + std::ptrdiff_t(size_t(first) * per));
      ++calls;
    });
    CHECK(calls == (batch == 2 ? 2 : 1));
    CHECK(gpu[0] == -1.0f);  // trajectory 0 was not asked for
    const std::vector<double> a(gpu.begin() + std::ptrdiff_t(per), gpu.end()), b(cpu.begin() + std::ptrdiff_t(per), cpu.end());
    INFO("batch " << batch << ": frames rel L2 " << rel_l2(a, b));
    CHECK(rel_l2(a, b) <= 1e-6);
    (batch == 2 ? one : two) = gpu;
  }
  // The batch changes nothing on the device either: the same kernels per state.
  CHECK(one == two);
}

TEST_CASE("Navier-Stokes on CUDA: a batch allocates no more than bytes_per_trajectory says", "[cuda][ns]") {
  SDKD_CUDA_OR_SKIP();
  const int n = 128;
  const int64_t batch = 6;
  const auto before = sdkd::cuda_memory_stats(0).allocated;
  {
    NSSolver gpu(n, 1e-3, 1e-3, NSScheme::ifrk4, ns_forcing(n, 0.1), kCuda, batch);
    gpu.step();
    const auto held = sdkd::cuda_memory_stats(0).allocated - before;
    INFO("allocated " << held << " bytes, estimate " << batch * NSSolver::bytes_per_trajectory(n, kCuda));
    CHECK(held > 0);
    CHECK(held <= batch * NSSolver::bytes_per_trajectory(n, kCuda));
  }
  const int64_t fit = NSSolver::max_batch(256, kCuda, 0.5);
  CHECK(fit >= 1);
  CHECK(fit * NSSolver::bytes_per_trajectory(256, kCuda) <= int64_t(200) << 30);  // no device has 200 GiB (yet)
}
