#pragma once
// The shared test helpers, one copy each (tests/engine/gradcheck.hpp and tests/cuda/cuda_test.hpp
// include this file):
// - seeded random tensors and input fills, tolerance_ratio and the finite-difference core
//   (tests/common/numeric.hpp, Catch2-free);
// - SDKD_CUDA_OR_SKIP: without a usable device a case reports SKIPPED (ctest counts it as
//   skipped through SKIP_REGULAR_EXPRESSION) and returns, never a silent pass;
// - gradcheck: the float64 central-difference check asserted with Catch2;
// - leaf_pair and CHECK_CLOSE: a GPU result against its CPU twin under a per-op tolerance,
//   reporting how close the worst element came to the bound;
// - check_read_error: a file reader's error for a malformed file names the file and the fault.
// The toy models, data and temp directories are in tests/common/toy.hpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/numeric.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::test {

// Without a usable device the case reports SKIPPED (ctest counts it as skipped) and returns.
#define SDKD_CUDA_OR_SKIP()                                          \
  do {                                                               \
    const std::string sdkd_why_ = ::sdkd::cuda_unavailable_reason(); \
    if (!sdkd_why_.empty()) {                                        \
      WARN("SKIPPED: " << sdkd_why_);                                \
      return;                                                        \
    }                                                                \
  } while (0)

// Outcome of a gradient check: the largest relative error seen and the bound it was held to.
struct GradcheckResult {
  double worst = 0, tol = 0;
  bool passed() const { return worst < tol; }
};

// Central finite-difference gradient check in float64: for f(inputs) -> tensor, compares the
// autograd gradient of L = sum(f * R) (R a fixed random projection) with (L(x+h) - L(x-h)) / 2h
// for every element of every input (all are made to require grad). REQUIREs that every input
// got a gradient and that every element is within `tol` (naming the worst element on failure),
// and returns the worst error; callers assert CHECK(gradcheck(...).passed()).
inline GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                                 double tol = 1e-6, double h = 1e-6) {
  const FdReport r = finite_difference_check(f, std::move(inputs), {}, tol, h);
  INFO(r.describe());
  REQUIRE(r.error.empty());
  REQUIRE(r.worst < tol);
  return {r.worst, r.tol};
}

// The largest |a - b| over two tensors of the same size (any dtype or device), REQUIRE-ing the size.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_double_vector(), y = b.to_double_vector();
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
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

// CHECKs that read(path) throws an sdkd::Error whose message starts with "<path>:" and contains
// each of `parts`; FAILs when it does not throw.
template <class Read>
void check_read_error(const std::string& path, Read&& read, std::initializer_list<std::string> parts) {
  CAPTURE(path);
  try {
    read(path);
    FAIL("no error for " << path);
  } catch (const Error& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.rfind(path + ":", 0) == 0);  // the message starts with the file name
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Matchers::Contains(p));
  }
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
