#pragma once
// Shared by the CUDA tests: skip honestly without a device, and compare a GPU result with its
// CPU twin under a per-op tolerance, reporting how close the worst element came to the bound.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "sdkd/device.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::test {

inline const Device kCuda{DeviceType::cuda, 0};
inline const Device kCpu{};

// Without a usable device the case reports SKIPPED (ctest counts it as skipped) and returns.
#define SDKD_CUDA_OR_SKIP()                                       \
  do {                                                            \
    const std::string sdkd_why_ = ::sdkd::cuda_unavailable_reason(); \
    if (!sdkd_why_.empty()) {                                     \
      WARN("SKIPPED: " << sdkd_why_);                             \
      return;                                                     \
    }                                                             \
  } while (0)

// A CPU float32 tensor of standard normal numbers (deterministic in `seed`).
inline Tensor cpu_randn(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  Tensor t = Tensor::randn(shape, g);
  if (scale != 1.0) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(p[i] * scale);
  }
  return t;
}

// The same values as a CPU leaf and a GPU leaf, both requiring grad (for gradient checks).
struct LeafPair {
  Tensor cpu, gpu;
};

inline LeafPair leaf_pair(const Tensor& host) {
  Tensor c = host.clone();
  c.set_requires_grad(true);
  Tensor g = host.to(kCuda);
  g.set_requires_grad(true);
  return {c, g};
}

// Largest |gpu - cpu| / (atol + rtol * |cpu|) over all elements: <= 1 means within tolerance.
inline double tolerance_ratio(const Tensor& gpu, const Tensor& cpu, double rtol, double atol) {
  const std::vector<double> a = gpu.to_double_vector(), b = cpu.to_double_vector();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double bound = atol + rtol * std::fabs(b[i]);
    const double r = std::isfinite(a[i]) ? std::fabs(a[i] - b[i]) / bound : INFINITY;
    worst = std::max(worst, r);
  }
  return worst;
}

}  // namespace sdkd::test

// Checks a GPU result against its CPU twin: defined, on the GPU, same shape, every element
// within atol + rtol * |cpu|; reports how close the worst element came to that bound. A macro
// so that a failure points at the calling line.
#define CHECK_CLOSE(gpu, cpu, rtol, atol, what)                                                        \
  do {                                                                                                 \
    INFO(what);                                                                                        \
    const ::sdkd::Tensor sdkd_g_ = (gpu), sdkd_c_ = (cpu);                                             \
    REQUIRE(sdkd_g_.defined());                                                                        \
    REQUIRE(sdkd_c_.defined());                                                                        \
    CHECK(sdkd_g_.device() == ::sdkd::test::kCuda);                                                    \
    REQUIRE(sdkd_g_.shape() == sdkd_c_.shape());                                                       \
    const double sdkd_r_ = ::sdkd::test::tolerance_ratio(sdkd_g_, sdkd_c_, (rtol), (atol));            \
    UNSCOPED_INFO("worst element at " << sdkd_r_ << " of the bound (rtol " << (rtol) << ", atol " << (atol) << ")"); \
    CHECK(sdkd_r_ <= 1.0);                                                                             \
  } while (0)
