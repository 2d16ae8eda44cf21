#pragma once
// exp(x) in double for the CPU loops, written so that a loop calling it vectorises: no
// branches (selects only), no library call, no table. glibc's exp is a scalar call, and the
// CPU's activations (SiLU, sigmoid, GELU's slope) spent most of their time in it: a third of
// the SimVP teacher's training step.
//
// Method: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2 (Cody-Waite, ln2 in two parts
// so n ln2 is exact), e^r by its Taylor series to degree 13 (remainder below 2^-58 on that
// interval), times 2^n built from the exponent bits in two factors 2^(n/2) 2^(n - n/2), so
// results that are subnormal still come out right. Accuracy: within 1 ulp of the correctly
// rounded result over the whole range (tests/kernels/test_host_exp.cpp checks it against
// std::exp); exp(+inf) = inf, exp(-inf) = 0, NaN stays NaN, overflow gives inf, underflow 0.
//
// Host only: the CUDA kernels keep the device's exp (unary_ops.hpp picks by __CUDA_ARCH__).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/internal.hpp"

namespace sdkd::kern {

inline double host_exp(double x) {
  constexpr double kLog2e = 1.4426950408889634074;
  // ln 2 split: the high part has 32 significant bits, so n * kLn2Hi is exact for |n| < 2^21.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  // Beyond these, exp is inf or 0 in double; clamping keeps 2^n's exponent bits in range.
  // (Comparisons are false for NaN, so NaN passes through.) The bounds are deliberately not
  // float numbers: for x = double(float) GCC would otherwise narrow the comparison to float,
  // and a float compare selecting doubles stops the loop from vectorising.
  constexpr double kLo = -745.99999999999, kHi = 709.99999999999;
  double xc = x < kLo ? std::copysign(kLo, x) : x;
  xc = xc > kHi ? std::copysign(kHi, xc) : xc;
  const double t = xc * kLog2e + kShift;
  const double n = t - kShift;
  const double r = (xc - n * kLn2Hi) - n * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // n as an integer: the low mantissa bits of t hold it in two's complement.
  // Unsigned arithmetic: wraps instead of overflowing (for NaN the bits are junk, but p is NaN).
  uint64_t tb, sb;
  std::memcpy(&tb, &t, sizeof tb);
  std::memcpy(&sb, &kShift, sizeof sb);
  const uint64_t ni = tb - sb;
  const uint64_t n1 = uint64_t(int64_t(ni) >> 1), n2 = ni - n1;  // n1 = floor(n / 2)
  const uint64_t b1 = (n1 + 1023) << 52, b2 = (n2 + 1023) << 52;
  double s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  return p * s1 * s2;
}

// exp(x) in float, the same method in single precision, for float loops whose result is float
// anyway and where the double polynomial would set the pace (softmax over float rows): n from
// x log2 e rounded by adding 1.5 * 2^23, ln 2 in two parts (the high one has 16 significant
// bits, so n * kLn2Hi is exact for |n| < 2^8), e^r by Taylor to degree 7 on |r| <= ln2/2
// (remainder below 2^-27), 2^n in two factors so subnormal results come out right.
// Accuracy: within 2 ulp of the correctly rounded float (tests/kernels/test_host_exp.cpp);
// exp(+inf) = inf, exp(-inf) = 0, NaN stays NaN, overflow gives inf, underflow 0.
inline float host_expf(float x) {
  constexpr float kLog2e = 1.44269504f;
  constexpr float kLn2Hi = 0.693145751953125f;      // 16 significant bits
  constexpr float kLn2Lo = 1.4286068202862268e-6f;  // ln 2 - kLn2Hi
  constexpr float kShift = 12582912.0f;              // 1.5 * 2^23
  // exp is 0 below -104 (under the smallest subnormal) and inf above 88.73 in float.
  constexpr float kLo = -104.0f, kHi = 89.0f;
  // copysign as in host_exp: a select between a constant and x can become control flow.
  float xc = x < kLo ? std::copysign(kLo, x) : x;
  xc = xc > kHi ? std::copysign(kHi, xc) : xc;
  const float t = xc * kLog2e + kShift;
  const float n = t - kShift;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t tb, sb;
  std::memcpy(&tb, &t, sizeof tb);
  std::memcpy(&sb, &kShift, sizeof sb);
  const uint32_t ni = tb - sb;
  const uint32_t n1 = uint32_t(int32_t(ni) >> 1), n2 = ni - n1;
  const uint32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  return p * s1 * s2;
}

}  // namespace sdkd::kern
