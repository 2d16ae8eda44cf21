#pragma once
// Central finite-difference gradient check in float64: for f(inputs) -> tensor, compares the
// autograd gradient of L = sum(f * R) (R a fixed random projection) with (L(x+h) - L(x-h)) / 2h
// for every element of every input that requires grad.
#include <catch2/catch.hpp>
#include <functional>
#include <vector>

#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::test {

inline Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(shape, g, DType::f64);
}

// Outcome of a gradient check: the largest relative error seen and the bound it was held to.
struct GradcheckResult {
  double worst = 0, tol = 0;
  bool passed() const { return worst < tol; }
};

// Compares every element (REQUIRE with the element named, so a failure says where) and
// returns the worst error; callers assert CHECK(gradcheck(...).passed()).
inline GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                        double tol = 1e-6, double h = 1e-6) {
  for (auto& x : inputs) x.set_requires_grad(true);
  Tensor out = f(inputs);
  const Tensor proj = randn64(out.shape(), 4242);
  Tensor loss = sum(mul(out, proj));
  loss.backward();
  double worst = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    const Tensor analytic = x.grad();
    REQUIRE(analytic.defined());
    const std::vector<double> ga = analytic.to_double_vector();
    double* px = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double orig = px[i];
      NoGradGuard ng;
      px[i] = orig + h;
      const double lp = sum(mul(f(inputs), proj)).item();
      px[i] = orig - h;
      const double lm = sum(mul(f(inputs), proj)).item();
      px[i] = orig;
      const double numeric = (lp - lm) / (2 * h);
      const double err = std::fabs(numeric - ga[size_t(i)]) / std::max(1.0, std::fabs(numeric));
      worst = std::max(worst, err);
      INFO("input " << k << " element " << i << ": numeric " << numeric << " analytic " << ga[size_t(i)]);
      REQUIRE(err < tol);
    }
  }
  return {worst, tol};
}

}  // namespace sdkd::test
