// The CPU's branch-free exp (kernels/common/host_exp.hpp) against the C library's exp, which
// glibc rounds correctly in all but rare cases: the distance in units in the last place must
// stay <= 1 over the whole double range, the special values must be exact, and the vectorised
// loop the engine runs must give the bits of the scalar call.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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
