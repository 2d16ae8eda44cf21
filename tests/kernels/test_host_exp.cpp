// The CPU's branch-free exp and erf (kernels/common/host_exp.hpp, host_erf.hpp) against the C
// library's, which glibc rounds correctly in all but rare cases: exp within 1 ulp over the
// whole double range, erf within 2.5 ulp of 1 absolutely, the special values exact, and the
// vectorised loops the engine runs giving the bits of the scalar calls.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/common/host_erf.hpp"
#include "kernels/common/host_exp.hpp"
#include "kernels/common/unary_ops.hpp"
#include "sdkd/rng.hpp"

using sdkd::kern::host_exp;

namespace {

// Distance in ulps between two finite doubles of the same sign (or zero).
int64_t ulp_distance(double a, double b) {
  int64_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  return ia > ib ? ia - ib : ib - ia;
}

// The worst ulp distance from std::exp over n points spread uniformly on [lo, hi].
int64_t worst_ulps(double lo, double hi, int n, double* where) {
  int64_t worst = 0;
  for (int i = 0; i <= n; ++i) {
    const double x = lo + (hi - lo) * (double(i) + 0.5 * sdkd::Philox::uniform(7, 1, uint64_t(i))) / n;
    const int64_t d = ulp_distance(host_exp(x), std::exp(x));
    if (d > worst) worst = d, *where = x;
  }
  return worst;
}

}  // namespace

TEST_CASE("host_exp is within 1 ulp of exp over the normal range and near 0", "[host_exp]") {
  double where = 0;
  for (auto [lo, hi] : {std::pair{-708.0, 709.7}, std::pair{-1.0, 1.0}, std::pair{-1e-6, 1e-6},
                        std::pair{-40.0, 40.0}}) {
    INFO("interval [" << lo << ", " << hi << "]");
    const int64_t worst = worst_ulps(lo, hi, 200000, &where);
    INFO("worst at x = " << where);
    CHECK(worst <= 1);
  }
}

TEST_CASE("host_exp underflows through the subnormals to zero and overflows to inf", "[host_exp]") {
  double where = 0;
  // exp(x) is subnormal for x in about (-745.1, -708.4): the two-factor scaling keeps it right.
  CHECK(worst_ulps(-745.0, -708.5, 20000, &where) <= 1);
  CHECK(host_exp(-745.2) == 0.0);
  CHECK(host_exp(-800.0) == 0.0);
  CHECK(host_exp(-1e300) == 0.0);
  CHECK(host_exp(709.78) == std::exp(709.78));
  CHECK(std::isinf(host_exp(709.8)));
  CHECK(std::isinf(host_exp(1e300)));
}

TEST_CASE("host_exp keeps the special values", "[host_exp]") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(host_exp(0.0) == 1.0);
  CHECK(host_exp(-0.0) == 1.0);
  CHECK(ulp_distance(host_exp(1.0), std::exp(1.0)) <= 1);
  CHECK(host_exp(inf) == inf);
  CHECK(host_exp(-inf) == 0.0);
  CHECK(std::isnan(host_exp(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isnan(host_exp(-std::numeric_limits<double>::quiet_NaN())));
}

namespace {

// Distance in ulps between two finite floats of the same sign (or zero).
int64_t ulp_distance_f(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  return ia > ib ? int64_t(ia) - ib : int64_t(ib) - ia;
}

// The worst float ulp distance of host_expf from exp computed in double and rounded once.
int64_t worst_ulps_f(float lo, float hi, int n, float* where) {
  int64_t worst = 0;
  for (int i = 0; i <= n; ++i) {
    const float x = float(lo + (hi - lo) * (double(i) + 0.5 * sdkd::Philox::uniform(8, 1, uint64_t(i))) / n);
    const int64_t d = ulp_distance_f(sdkd::kern::host_expf(x), float(std::exp(double(x))));
    if (d > worst) worst = d, *where = x;
  }
  return worst;
}

}  // namespace

TEST_CASE("host_expf is within 2 ulp of the rounded exp, through the subnormals, with the special values",
          "[host_exp]") {
  using sdkd::kern::host_expf;
  float where = 0;
  for (auto [lo, hi] : {std::pair{-87.0f, 88.7f}, std::pair{-1.0f, 1.0f}, std::pair{-1e-4f, 1e-4f},
                        std::pair{-20.0f, 0.0f}}) {
    INFO("interval [" << lo << ", " << hi << "]");
    const int64_t worst = worst_ulps_f(lo, hi, 400000, &where);
    INFO("worst at x = " << where);
    CHECK(worst <= 2);
  }
  // exp(x) is subnormal in float for x in about (-103.3, -87.3): the two factors keep it right
  // (there the ulp is absolute, 2^-149).
  CHECK(worst_ulps_f(-103.0f, -87.4f, 40000, &where) <= 2);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(host_expf(-104.0f) == 0.0f);
  CHECK(host_expf(-1e30f) == 0.0f);
  CHECK(host_expf(-inf) == 0.0f);
  CHECK(std::isinf(host_expf(88.8f)));
  CHECK(host_expf(inf) == inf);
  CHECK(host_expf(0.0f) == 1.0f);
  CHECK(host_expf(-0.0f) == 1.0f);
  CHECK(std::isnan(host_expf(std::numeric_limits<float>::quiet_NaN())));
  // A vectorised loop gives the scalar call's bits (softmax runs it so).
  const int n = 4099;
  std::vector<float> x(n), loop(n);
  for (int i = 0; i < n; ++i) x[i] = float(30.0 * sdkd::Philox::normal(4, 2, uint64_t(i)));
#pragma omp simd
  for (int i = 0; i < n; ++i) loop[i] = host_expf(x[i]);
  for (int i = 0; i < n; ++i) {
    volatile float xi = x[i];
    const float one = host_expf(xi);
    INFO("x = " << x[i]);
    CHECK(std::memcmp(&one, &loop[i], sizeof one) == 0);
  }
}

TEST_CASE("the vectorised activation loops give the scalar formula's bits", "[host_exp]") {
  using sdkd::kern::UnaryOp;
  const int n = 4099;  // not a multiple of any vector width: the remainder loop runs too
  std::vector<float> x(n), loop(n);
  for (int i = 0; i < n; ++i) x[i] = float(20.0 * sdkd::Philox::normal(3, 2, uint64_t(i)));
  x[5] = std::numeric_limits<float>::infinity();
  x[6] = -std::numeric_limits<float>::infinity();
  x[7] = std::numeric_limits<float>::quiet_NaN();
#pragma omp simd
  for (int i = 0; i < n; ++i) loop[i] = float(sdkd::kern::unary_value<UnaryOp::silu, double>(double(x[i]), 0.0));
  for (int i = 0; i < n; ++i) {
    volatile double xi = double(x[i]);  // keeps this call scalar
    const float one = float(sdkd::kern::unary_value<UnaryOp::silu, double>(xi, 0.0));
    INFO("x = " << x[i]);
    if (std::isnan(one)) CHECK(std::isnan(loop[i]));
    else CHECK(std::memcmp(&one, &loop[i], sizeof one) == 0);
  }
  // silu(x) = x sigmoid(x) against the C library's exp for float inputs: the double result
  // rounded to float must agree except, rarely, by one float ulp.
  int differ = 0;
  for (int i = 8; i < n; ++i) {
    const double xi = double(x[i]);
    const float ref = float(xi / (1.0 + std::exp(-xi)));
    if (ref != loop[i]) {
      ++differ;
      CHECK(std::abs(double(ref) - double(loop[i])) <= std::abs(double(ref)) * 1.2e-7);
    }
  }
  CHECK(differ <= n / 1000);
}

TEST_CASE("host_erf is within 2.5 ulp of 1 of erf everywhere, odd, and exact at the limits", "[host_exp]") {
  using sdkd::kern::host_erf;
  double worst = 0, where = 0;
  for (int i = -400000; i <= 400000; ++i) {
    const double z = 2e-5 * i + 1e-6 * sdkd::Philox::uniform(9, 1, uint64_t(i + 400000));
    const double err = std::abs(host_erf(z) - std::erf(z));
    if (err > worst) worst = err, where = z;
    if (i % 997 == 0) CHECK(host_erf(-z) == -host_erf(z));
  }
  INFO("worst at z = " << where);
  CHECK(worst <= 2.5 * std::numeric_limits<double>::epsilon());
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(host_erf(0.0) == 0.0);
  CHECK(host_erf(inf) == 1.0);
  CHECK(host_erf(-inf) == -1.0);
  CHECK(host_erf(40.0) == 1.0);
  CHECK(std::isnan(host_erf(std::numeric_limits<double>::quiet_NaN())));
  // Small arguments keep their relative accuracy (the series starts at z).
  CHECK(std::abs(host_erf(1e-10) - std::erf(1e-10)) <= 2e-26);
}

TEST_CASE("the vectorised GELU loop gives the scalar formula's bits and the C library's erf to a float ulp",
          "[host_exp]") {
  using sdkd::kern::UnaryOp;
  const int n = 4099;
  std::vector<float> x(n), loop(n), slope(n);
  for (int i = 0; i < n; ++i) x[i] = float(3.0 * sdkd::Philox::normal(5, 2, uint64_t(i)));
#pragma omp simd
  for (int i = 0; i < n; ++i) {
    loop[i] = float(sdkd::kern::unary_value<UnaryOp::gelu, double>(double(x[i]), 0.0));
    slope[i] = float(sdkd::kern::unary_slope<UnaryOp::gelu, double>(double(x[i]), 0.0, 0.0));
  }
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    volatile double xi = double(x[i]);
    const float one = float(sdkd::kern::unary_value<UnaryOp::gelu, double>(xi, 0.0));
    const float one_slope = float(sdkd::kern::unary_slope<UnaryOp::gelu, double>(xi, 0.0, 0.0));
    INFO("x = " << x[i]);
    CHECK(std::memcmp(&one, &loop[i], sizeof one) == 0);
    CHECK(std::memcmp(&one_slope, &slope[i], sizeof one) == 0);
    const double ref = 0.5 * double(x[i]) * (1.0 + std::erf(double(x[i]) * 0.7071067811865476));
    if (float(ref) != loop[i]) {
      ++differ;
      CHECK(std::abs(ref - double(loop[i])) <= 1.2e-7 * std::abs(ref) + 1e-30);
    }
  }
  CHECK(differ <= n / 1000);
}
