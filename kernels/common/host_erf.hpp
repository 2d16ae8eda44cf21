#pragma once
// erf(z) in double for the CPU loops, branch-free so that GELU's loops vectorise (the C
// library's erf is a scalar call: GELU ran at 2-3 % of memory bandwidth).
//
// Two expansions, both evaluated for every element and one selected (no branches):
//   |z| < 2: erf(z) = 2/sqrt(pi) e^{-z^2} z sum_n (2 z^2)^n / (2n+1)!!, 30 terms: every term
//            positive, so nothing cancels;
//   |z| >= 2: erf(z) = 1 - erfc(z), erfc(z) = e^{-z^2}/sqrt(pi) / (z + (1/2)/(z + 1/(z +
//            (3/2)/(z + ...)))), the continued fraction cut at depth 40 and evaluated by the
//            forward recurrence of its convergents (one division); beyond 6.5 erfc < 4e-20.
// Accuracy (checked against std::erf in tests/kernels/test_host_exp.cpp): within 2.5 ulp of 1
// (6e-16) absolutely, which is what GELU's 1 + erf needs; like 1 + erf(z), the form the CPU
// always used, it is not meant for the relative accuracy of erfc in the far tail.
#include <array>
#include <cmath>

#include "kernels/common/host_exp.hpp"
#include "kernels/internal.hpp"

namespace sdkd::kern {

namespace erf_detail {

// Full unrolling lets the loop over elements around host_erf vectorise (GCC does not vectorise
// an outer loop around a loop). nvcc compiles this header too and knows no such pragma.
#if defined(__GNUC__) && !defined(__CUDACC__)
#define SDKD_ERF_PRAGMA(x) _Pragma(#x)
#define SDKD_ERF_UNROLL(n) SDKD_ERF_PRAGMA(GCC unroll n)
#else
#define SDKD_ERF_UNROLL(n)
#endif

constexpr int kSeriesTerms = 30;
constexpr int kFractionDepth = 40;

// 1 / (2n+1)!!
constexpr std::array<double, kSeriesTerms> series_coefficients() {
  std::array<double, kSeriesTerms> c{};
  c[0] = 1.0;
  for (int n = 1; n < kSeriesTerms; ++n) c[size_t(n)] = c[size_t(n - 1)] / double(2 * n + 1);
  return c;
}
inline constexpr std::array<double, kSeriesTerms> kSeries = series_coefficients();

}  // namespace erf_detail

inline double host_erf(double z) {
  using namespace erf_detail;
  constexpr double kCut = 2.0, kFar = 6.5;
  constexpr double kTwoOverSqrtPi = 1.1283791670955126, kInvSqrtPi = 0.5641895835477563;
  const double a = std::fabs(z);
  // Clamped copies for each expansion. copysign(c, a) is c here (a >= 0) but keeps GCC from
  // specialising the rest of the function on a constant, which would stop vectorisation.
  const double s = a > kCut ? std::copysign(kCut, a) : a;
  double f = a < kCut ? std::copysign(kCut, a) : a;
  f = f > kFar ? std::copysign(kFar, f) : f;
  const bool near = a < kCut;
  const double q = near ? s : f;
  const double e = host_exp(-q * q);

  const double w = 2.0 * s * s;
  double p = kSeries[kSeriesTerms - 1];
  SDKD_ERF_UNROLL(30)
  for (int n = kSeriesTerms - 2; n >= 0; --n) p = p * w + kSeries[size_t(n)];
  const double by_series = kTwoOverSqrtPi * e * s * p;

  // Convergents P_k / Q_k of f + (1/2)/(f + (2/2)/(f + ...)).
  double pm = 1.0, qm = 0.0, pk = f, qk = 1.0;
  SDKD_ERF_UNROLL(40)
  for (int k = 1; k <= kFractionDepth; ++k) {
    const double ak = 0.5 * double(k);
    const double pn = f * pk + ak * pm, qn = f * qk + ak * qm;
    pm = pk, qm = qk, pk = pn, qk = qn;
  }
  const double by_fraction = 1.0 - kInvSqrtPi * e * (qk / pk);
  return std::copysign(near ? by_series : by_fraction, z);
}

#undef SDKD_ERF_UNROLL
#undef SDKD_ERF_PRAGMA

}  // namespace sdkd::kern
