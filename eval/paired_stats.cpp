#include "sdkd/eval/paired_stats.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "sdkd/error.hpp"

namespace sdkd::eval {

namespace {

// The continued fraction of the regularised incomplete beta function I_x(a, b), evaluated by
// the modified Lentz method; converges fast for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    // Even step.
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    if (std::fabs(d) < tiny) d = tiny;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    if (std::fabs(d) < tiny) d = tiny;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < eps) break;
  }
  return h;
}

// I_x(a, b), 0 <= x <= 1.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                                b * std::log1p(-x));
  // The fraction converges on the side of the symmetry point; use I_x(a,b) = 1 - I_{1-x}(b,a).
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, int64_t df) {
  SDKD_CHECK(df >= 1, "student_t_cdf: degrees of freedom must be >= 1, got ", df);
  const double v = double(df);
  const double tail = 0.5 * incomplete_beta(v / 2, 0.5, v / (v + t * t));  // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, int64_t df) {
  SDKD_CHECK(df >= 1, "student_t_quantile: degrees of freedom must be >= 1, got ", df);
  SDKD_CHECK(p > 0 && p < 1, "student_t_quantile: p must be in (0, 1), got ", p);
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Bracket, then bisect: the CDF is monotone, and 200 halvings reach the double's resolution.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval t_interval(const std::vector<double>& values, double level) {
  SDKD_CHECK(level > 0 && level < 1, "t_interval: the confidence level must be in (0, 1), got ", level);
  Interval iv;
  iv.level = level;
  iv.n = int64_t(values.size());
  for (double x : values) {
    SDKD_CHECK(std::isfinite(x), "t_interval: a value is not finite (", x, ")");
    iv.mean += x / double(values.size());
  }
  if (iv.n < 2) {
    iv.lo = iv.hi = std::numeric_limits<double>::quiet_NaN();
    return iv;
  }
  double ss = 0;
  for (double x : values) ss += (x - iv.mean) * (x - iv.mean);
  iv.sd = std::sqrt(ss / double(iv.n - 1));
  const double half = student_t_quantile(0.5 + level / 2, iv.n - 1) * iv.sd / std::sqrt(double(iv.n));
  iv.lo = iv.mean - half, iv.hi = iv.mean + half;
  return iv;
}

nlohmann::json Interval::to_json() const {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"n", n}, {"mean", num(mean)}, {"sd", num(sd)}, {"lo", num(lo)}, {"hi", num(hi)}, {"level", level},
          {"excludes_zero", excludes_zero()}};
}

std::string format_percent_interval(const Interval& iv) {
  char b[96];
  if (iv.n < 2)
    std::snprintf(b, sizeof b, "%+.1f%% [one seed: no interval]", 100 * iv.mean);
  else
    std::snprintf(b, sizeof b, "%+.1f%% [%+.1f, %+.1f]", 100 * iv.mean, 100 * iv.lo, 100 * iv.hi);
  return b;
}

std::string format_interval(const Interval& iv, int digits) {
  char b[96];
  if (iv.n < 2)
    std::snprintf(b, sizeof b, "%.*f [one seed: no interval]", digits, iv.mean);
  else
    std::snprintf(b, sizeof b, "%.*f [%.*f, %.*f]", digits, iv.mean, digits, iv.lo, digits, iv.hi);
  return b;
}

double standard_error(const std::vector<double>& samples) {
  const int64_t n = int64_t(samples.size());
  if (n < 2) return 0;
  double mean = 0, ss = 0;
  for (double x : samples) mean += x / double(n);
  for (double x : samples) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / double(n - 1)) / std::sqrt(double(n));
}

}  // namespace sdkd::eval
