// The study's interval statistics against closed forms (Student's t with 1 and 2 degrees of
// freedom has an elementary CDF), published quantile tables, a hand-worked interval and the
// coverage of the interval on simulated normal samples.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "sdkd/eval/paired_stats.hpp"
#include "sdkd/error.hpp"

using namespace sdkd::eval;

TEST_CASE("Student t CDF matches the closed forms for 1 and 2 degrees of freedom", "[stats]") {
  const double pi = std::acos(-1.0);
  for (double t : {-30.0, -3.0, -1.0, -0.2, 0.0, 0.5, 1.0, 2.5, 12.0}) {
    INFO("t = " << t);
    CHECK(student_t_cdf(t, 1) == Approx(0.5 + std::atan(t) / pi).epsilon(1e-12));  // Cauchy
    CHECK(student_t_cdf(t, 2) == Approx(0.5 + t / (2 * std::sqrt(2 + t * t))).epsilon(1e-12));
  }
}

TEST_CASE("Student t quantiles match the published table and invert the CDF", "[stats]") {
  // Two-sided 95 % critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
  CHECK(student_t_quantile(0.975, 1) == Approx(12.706204736).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 2) == Approx(4.302652730).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 4) == Approx(2.776445105).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 9) == Approx(2.262157163).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 30) == Approx(2.042272456).epsilon(1e-9));
  CHECK(student_t_quantile(0.95, 5) == Approx(2.015048373).epsilon(1e-9));
  // Large df tends to the normal quantile 1.959964.
  CHECK(student_t_quantile(0.975, 100000) == Approx(1.959986).epsilon(1e-5));
  CHECK(student_t_quantile(0.025, 4) == Approx(-2.776445105).epsilon(1e-9));
  CHECK(student_t_quantile(0.5, 7) == 0.0);
  for (int64_t df : {1, 3, 8, 50})
    for (double p : {0.6, 0.9, 0.99, 0.999}) CHECK(student_t_cdf(student_t_quantile(p, df), df) == Approx(p).epsilon(1e-11));
  CHECK_THROWS_AS(student_t_quantile(1.0, 3), sdkd::Error);
  CHECK_THROWS_AS(student_t_quantile(0.9, 0), sdkd::Error);
}

TEST_CASE("t_interval: a hand-worked interval, one value, and non-finite input", "[stats]") {
  // 1..5: mean 3, sd sqrt(2.5), half width t_{0.975,4} sqrt(2.5) / sqrt(5) = 2.776445105 / sqrt(2).
  const Interval iv = t_interval({1, 2, 3, 4, 5});
  CHECK(iv.n == 5);
  CHECK(iv.mean == Approx(3.0));
  CHECK(iv.sd == Approx(std::sqrt(2.5)));
  CHECK(iv.lo == Approx(3 - 2.776445105 / std::sqrt(2.0)).epsilon(1e-9));
  CHECK(iv.hi == Approx(3 + 2.776445105 / std::sqrt(2.0)).epsilon(1e-9));
  CHECK(iv.excludes_zero());
  CHECK_FALSE(t_interval({-1, 2, 0.5}).excludes_zero());
  CHECK(t_interval({-3, -2, -2.5}).excludes_zero());
  const Interval one = t_interval({0.25});
  CHECK(one.mean == 0.25);
  CHECK(std::isnan(one.lo));
  CHECK_FALSE(one.excludes_zero());
  CHECK(format_percent_interval(iv) == "+300.0% [+103.7, +496.3]");
  CHECK(format_interval(t_interval({0.5, 0.5}), 2) == "0.50 [0.50, 0.50]");
  CHECK_THROWS_AS(t_interval({1.0, NAN}), sdkd::Error);
  CHECK(standard_error({1, 2, 3, 4, 5}) == Approx(std::sqrt(2.5 / 5)));
}

TEST_CASE("the 95 % t interval covers the true mean of normal samples about 95 % of the time", "[stats]") {
  // 4000 samples of 5 values: the number of misses is Binomial(4000, 0.05), mean 200, sd 13.8;
  // [150, 250] is a +-3.6 sd band. A z quantile (1.96) instead of t's 2.776 misses ~12 %.
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> nd(0.7, 2.0);
  int misses = 0;
  for (int rep = 0; rep < 4000; ++rep) {
    std::vector<double> v(5);
    for (double& x : v) x = nd(rng);
    const Interval iv = t_interval(v);
    if (!(iv.lo <= 0.7 && 0.7 <= iv.hi)) ++misses;
  }
  INFO("misses " << misses << " of 4000");
  CHECK(misses >= 150);
  CHECK(misses <= 250);
}
