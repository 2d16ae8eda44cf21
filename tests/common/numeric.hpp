#pragma once
// The Catch2-free half of the shared test helpers (tests/common/fixtures.hpp adds the Catch2
// macros on top): seeded random tensors in float32/float64, the input fills the op tests use,
// the GPU-vs-CPU tolerance ratio, the relative L2 error of two vectors, one central difference
// and the central finite-difference gradient check built on it. Catch2-free so that non-test
// programs (sdkd-op-coverage, benchmarks) can share the op registry. The toy models and data
// are in tests/common/toy.hpp.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::test {

inline const Device kCuda{DeviceType::cuda, 0};
inline const Device kCpu{};

// A CPU float64 tensor of standard normal numbers (deterministic in `seed`).
inline Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(shape, g, DType::f64);
}

// A CPU float32 tensor of standard normal numbers (deterministic in `seed`), times `scale`.
inline Tensor cpu_randn(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  Tensor t = Tensor::randn(shape, g);
  if (scale != 1.0) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(p[i] * scale);
  }
  return t;
}

// How an op's input is filled. The draws are the same standard normals for either dtype (drawn
// in float64, mapped, then rounded), so a float32 twin holds the float64 case's values rounded.
enum class Fill {
  normal,          // N(0, 1) * scale
  positive,        // |N(0, 1)| * scale + 0.3: log, sqrt, fractional powers, variances
  away_from_zero,  // sign(z) (|z| + 0.5) * scale: divisors, and kinks (abs, relu) kept out of reach of the FD step
};

inline const char* fill_name(Fill f) {
  switch (f) {
    case Fill::normal: return "normal";
    case Fill::positive: return "positive";
    case Fill::away_from_zero: return "away_from_zero";
  }
  return "?";
}

// A contiguous CPU tensor of `dtype` filled as `fill` says (deterministic in `seed`).
inline Tensor filled(const Shape& shape, Fill fill, uint64_t seed, DType dtype, double scale = 1.0) {
  Tensor t = randn64(shape, seed);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double z = p[i];
    switch (fill) {
      case Fill::normal: p[i] = z * scale; break;
      case Fill::positive: p[i] = std::fabs(z) * scale + 0.3; break;
      case Fill::away_from_zero: p[i] = (z >= 0 ? 1.0 : -1.0) * (std::fabs(z) + 0.5) * scale; break;
    }
  }
  return dtype == DType::f64 ? t : t.to(dtype);
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

// ||a - b|| / ||b|| (Euclidean norms) for two vectors of the same length.
inline double rel_l2(const std::vector<double>& a, const std::vector<double>& b) {
  double e = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += (a[i] - b[i]) * (a[i] - b[i]);
    r += b[i] * b[i];
  }
  return std::sqrt(e / r);
}

inline double rel_l2(const std::vector<std::complex<double>>& a, const std::vector<std::complex<double>>& b) {
  double e = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += std::norm(a[i] - b[i]);
    r += std::norm(b[i]);
  }
  return std::sqrt(e / r);
}

// (f() at x + h - f() at x - h) / 2h, for an f that reads x; x is restored afterwards.
template <class F>
double central_difference(double& x, double h, F&& f) {
  const double keep = x;
  x = keep + h;
  const double up = f();
  x = keep - h;
  const double down = f();
  x = keep;
  return (up - down) / (2 * h);
}

// Outcome of a finite-difference check, with the element that came closest to (or over) the bound.
struct FdReport {
  double worst = 0, tol = 0;    // largest |numeric - analytic| / max(1, |numeric|), and its bound
  int64_t input = -1, element = -1;
  double numeric = 0, analytic = 0;  // at the worst element
  int64_t checked = 0;               // elements compared
  std::string error;                 // set when an input that should have a gradient got none
  bool passed() const { return error.empty() && worst < tol; }
  std::string describe() const {
    if (!error.empty()) return error;
    std::ostringstream s;
    s.precision(10);
    s << "worst relative error " << worst << " (bound " << tol << ") at input " << input << " element " << element
      << ": numeric " << numeric << " analytic " << analytic << ", " << checked << " elements checked";
    return s.str();
  }
};

// Central finite differences in float64: for f(inputs) -> tensor, compares the autograd gradient
// of L = sum(f * R) (R a fixed random projection) with (L(x+h) - L(x-h)) / 2h for every element of
// every input marked differentiable (all when `differentiable` is empty); the others get no
// gradient. Never throws on a mismatch: the report says where the worst element was. A NaN or
// infinite error counts as a failure.
inline FdReport finite_difference_check(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        std::vector<Tensor> inputs, const std::vector<bool>& differentiable = {},
                                        double tol = 1e-6, double h = 1e-6) {
  auto wants = [&](size_t k) { return differentiable.empty() || (k < differentiable.size() && differentiable[k]); };
  for (size_t k = 0; k < inputs.size(); ++k)
    if (wants(k)) inputs[k].set_requires_grad(true);
  FdReport rep;
  rep.tol = tol;
  Tensor out = f(inputs);
  const Tensor proj = randn64(out.shape(), 4242);
  Tensor loss = sum(mul(out, proj));
  if (!loss.requires_grad()) {
    rep.error = "the output " + out.str() + " does not depend on any input that requires grad";
    return rep;
  }
  loss.backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!wants(k)) continue;
    Tensor x = inputs[k];
    const Tensor analytic = x.grad();
    if (!analytic.defined()) {
      rep.error = "input " + std::to_string(k) + " requires grad but got no gradient";
      return rep;
    }
    const std::vector<double> ga = analytic.to_double_vector();
    double* px = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      NoGradGuard ng;
      const double numeric = central_difference(px[i], h, [&] { return sum(mul(f(inputs), proj)).item(); });
      double err = std::fabs(numeric - ga[size_t(i)]) / std::max(1.0, std::fabs(numeric));
      if (!std::isfinite(err)) err = INFINITY;
      ++rep.checked;
      if (rep.input < 0 || err > rep.worst) {
        rep.worst = err;
        rep.input = int64_t(k);
        rep.element = i;
        rep.numeric = numeric;
        rep.analytic = ga[size_t(i)];
      }
    }
  }
  return rep;
}

}  // namespace sdkd::test
