#pragma once
// Statistics of a study's paired comparisons: one number per seed (a KD run against the
// student alone of the same seed, the same initialisation and batch order), summarised by
// its mean and a two-sided Student-t confidence interval over the seeds.
//
//   paired change   d_i = MSE_kd,i / MSE_alone,i - 1
//   gap closed      g_i = (MSE_alone,i - MSE_kd,i) / (MSE_alone,i - MSE_teacher)
//
// The teacher is one trained model, so its MSE is a constant of the comparison. A claimed
// gain is one whose interval excludes zero.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdkd::eval {

// The quantile t with P(T <= t) = p of Student's t with df degrees of freedom (df >= 1,
// 0 < p < 1), to about 1e-12 relative: the t CDF through the regularised incomplete beta
// function, inverted by bisection then Newton steps.
double student_t_quantile(double p, int64_t df);
// P(T <= t) for Student's t with df degrees of freedom.
double student_t_cdf(double t, int64_t df);

struct Interval {
  int64_t n = 0;
  double mean = 0, sd = 0;  // sd over the values (n - 1 in the denominator)
  double lo = 0, hi = 0;    // mean -+ t_{(1+level)/2, n-1} sd / sqrt(n); NaN when n < 2
  double level = 0.95;
  bool excludes_zero() const { return n >= 2 && (lo > 0 || hi < 0); }
  nlohmann::json to_json() const;
};

// The mean of `values` with its t interval. NaN values are refused (sdkd::Error).
Interval t_interval(const std::vector<double>& values, double level = 0.95);

// "+1.2% [-0.8, +3.1]" for a relative change (x100), or "0.41 [0.12, 0.70]" for a fraction.
std::string format_percent_interval(const Interval& iv);
std::string format_interval(const Interval& iv, int digits = 2);

// The standard error of a mean over samples (sd / sqrt(n)); 0 for fewer than 2.
double standard_error(const std::vector<double>& samples);

}  // namespace sdkd::eval
