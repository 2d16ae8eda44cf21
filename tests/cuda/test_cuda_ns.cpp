// The float64 Navier-Stokes solver on CUDA (cuFFT Z2D/D2Z + fused spectral updates) against
// the CPU solver, both schemes, 32^2 and 64^2, from FNO's random initial field with forcing.
//
// What is compared: the vorticity on the grid, as the relative L2 error ||w_gpu - w_cpu|| /
// ||w_cpu||, and the half spectra likewise. Both solvers start from the same spectrum (computed
// on the CPU) and use the same coefficient tables, so they differ only by FFT round-off
// (~1e-16 relative per transform). One step: bound 1e-10. After 100 steps round-off grows
// through the nonlinear term (chaotic at low viscosity, mildly here): bound 1e-8.
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "common/toy.hpp"
#include "cuda_test.hpp"
#include "datasets/navier_stokes.hpp"

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
