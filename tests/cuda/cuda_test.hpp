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

// Checks shape, device and values; prints the worst element's share of the tolerance.
inline void check_close(const Tensor& gpu, const Tensor& cpu, double rtol, double atol, const std::string& what) {
  INFO(what);
  REQUIRE(gpu.defined());
  REQUIRE(cpu.defined());
  CHECK(gpu.device() == kCuda);
  REQUIRE(gpu.shape() == cpu.shape());
  const double r = tolerance_ratio(gpu, cpu, rtol, atol);
  UNSCOPED_INFO(what << ": worst element at " << r << " of the bound (rtol " << rtol << ", atol " << atol << ")");
  CHECK(r <= 1.0);
}

}  // namespace sdkd::test
