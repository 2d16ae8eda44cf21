#pragma once
// The pointwise activations, written once for both backends: the engine's CPU loop
// (engine/src/ops_elementwise.cpp) and the CUDA kernels (kernels/cuda/elementwise.cu) call
// these same functions, y = f(x) and the derivative f'(x, y) that the fused backward
// multiplies by the incoming gradient.
//
// C is the compute type. The CPU computes in double for float and double tensors alike
// (rounding once to the tensor's type at the end); the CUDA kernels compute in float, with
// three steps taken in double, where that gives the CPU's result for float inputs at no memory
// cost: leaky_relu's slope (a double) times x, and tanh's and sigmoid's derivatives from y
// (y*y of a float is exact in double, so 1 - y^2 and y (1 - y) round once instead of
// cancelling near |y| = 1). With C = double those steps are the plain double formula, so one
// expression serves both. The one formula that differs by precision is 1 + erf(z) in gelu: in
// float it is erfc(-z), which keeps its relative accuracy in the negative tail where 1 + erf
// cancels; in double 1 + erf is accurate enough (and what the CPU has always computed).
#include <cmath>
#include <type_traits>

#include "kernels/common/host_erf.hpp"
#include "kernels/common/host_exp.hpp"
#include "kernels/internal.hpp"
#include "sdkd/host_device.hpp"

namespace sdkd::kern {

// The pointwise functions of ops.hpp. `param` is the exponent of pow and the slope of leaky_relu.
enum class UnaryOp { exp, log, sqrt, abs, square, pow, tanh, sigmoid, relu, leaky_relu, silu, gelu };

// The math library in the compute type: the double and the float functions of the C library,
// which both the host compiler and nvcc (on the device) provide.
namespace unary_math {
// On the host our branch-free exp (host_exp.hpp), so the CPU loops over it vectorise.
SDKD_HD inline double exp(double x) {
#ifdef __CUDA_ARCH__
  return ::exp(x);
#else
  return host_exp(x);
#endif
}
SDKD_HD inline float exp(float x) { return ::expf(x); }
SDKD_HD inline double log(double x) { return ::log(x); }
SDKD_HD inline float log(float x) { return ::logf(x); }
SDKD_HD inline double sqrt(double x) { return ::sqrt(x); }
SDKD_HD inline float sqrt(float x) { return ::sqrtf(x); }
SDKD_HD inline double fabs(double x) { return ::fabs(x); }
SDKD_HD inline float fabs(float x) { return ::fabsf(x); }
SDKD_HD inline double pow(double x, double p) { return ::pow(x, p); }
SDKD_HD inline float pow(float x, float p) { return ::powf(x, p); }
SDKD_HD inline double tanh(double x) { return ::tanh(x); }
SDKD_HD inline float tanh(float x) { return ::tanhf(x); }
// 1 + erf(z); see the top of this file for why float takes erfc(-z).
}  // namespace unary_math

// leaky_relu's factor: 1 for x > 0, else the slope p (NaN takes p), as b + (1 - b) p with
// b = [x > 0], which is exactly 1 or p for a finite p (leaky_relu refuses others). Arithmetic
// rather than a select: GCC does not vectorise a loop whose select between 1 and a runtime
// value feeds a float conversion (it sinks the conversion into both arms, and a conversion
// may trap).
template <class C>
SDKD_HD inline double leaky_factor(C x, double p) {
  const double b = double(x > C(0));
  return b + (1.0 - b) * p;
}

namespace unary_math {
SDKD_HD inline double one_plus_erf(double z) {
#ifdef __CUDA_ARCH__
  return 1 + ::erf(z);
#else
  return 1 + host_erf(z);  // branch-free (host_erf.hpp): GELU's CPU loops vectorise
#endif
}
SDKD_HD inline float one_plus_erf(float z) { return ::erfcf(-z); }
}  // namespace unary_math

constexpr double kInvSqrt2 = 0.7071067811865476, kInvSqrt2Pi = 0.3989422804014327;

// y = f(x).
template <UnaryOp K, class C>
SDKD_HD inline C unary_value(C x, double p) {
  namespace m = unary_math;
  if constexpr (K == UnaryOp::exp) return m::exp(x);
  else if constexpr (K == UnaryOp::log) return m::log(x);
  else if constexpr (K == UnaryOp::sqrt) return m::sqrt(x);
  else if constexpr (K == UnaryOp::abs) return m::fabs(x);
  else if constexpr (K == UnaryOp::square) return x * x;
  else if constexpr (K == UnaryOp::pow) return m::pow(x, C(p));
  else if constexpr (K == UnaryOp::tanh) return m::tanh(x);
  else if constexpr (K == UnaryOp::sigmoid) return C(1) / (C(1) + m::exp(-x));
  else if constexpr (K == UnaryOp::relu) return x > C(0) ? x : C(0);
  else if constexpr (K == UnaryOp::leaky_relu) return C(double(x) * leaky_factor(x, p));  // in double
  else if constexpr (K == UnaryOp::silu) return x / (C(1) + m::exp(-x));
  else return C(0.5) * x * m::one_plus_erf(x * C(kInvSqrt2));  // gelu, the exact (erf) form
}

// Whether the derivative reads y = f(x) (the others read x): a fused backward loads only that.
constexpr bool unary_slope_reads_y(UnaryOp k) {
  return k == UnaryOp::exp || k == UnaryOp::sqrt || k == UnaryOp::tanh || k == UnaryOp::sigmoid;
}

// dy/dx from x or y (unary_slope_reads_y says which; the other argument is ignored).
template <UnaryOp K, class C>
SDKD_HD inline C unary_slope(C x, C y, double p) {
  namespace m = unary_math;
  if constexpr (K == UnaryOp::exp) return y;
  else if constexpr (K == UnaryOp::log) return C(1) / x;
  else if constexpr (K == UnaryOp::sqrt) return C(0.5) / y;
  else if constexpr (K == UnaryOp::abs) return x > C(0) ? C(1) : (x < C(0) ? C(-1) : C(0));
  else if constexpr (K == UnaryOp::square) return C(2) * x;
  else if constexpr (K == UnaryOp::pow) return C(p) * m::pow(x, C(p - 1.0));
  else if constexpr (K == UnaryOp::tanh) return C(1.0 - double(y) * double(y));
  else if constexpr (K == UnaryOp::sigmoid) return C(double(y) * (1.0 - double(y)));
  else if constexpr (K == UnaryOp::relu) return x > C(0) ? C(1) : C(0);
  else if constexpr (K == UnaryOp::leaky_relu) return C(leaky_factor(x, p));
  else if constexpr (K == UnaryOp::silu) {
    const C s = C(1) / (C(1) + m::exp(-x));
    return s * (C(1) + x * (C(1) - s));
  } else {
    return C(0.5) * m::one_plus_erf(x * C(kInvSqrt2)) + x * C(kInvSqrt2Pi) * m::exp(C(-0.5) * x * x);
  }
}

// Calls f(std::integral_constant<UnaryOp, K>{}) for the runtime op: one instantiation per
// function (a generic lambda reads K as decltype(k)::value; C++17, so nvcc can use it too).
template <class F>
inline void visit_unary(UnaryOp op, F&& f) {
  using O = UnaryOp;
  switch (op) {
    case O::exp: return f(std::integral_constant<O, O::exp>{});
    case O::log: return f(std::integral_constant<O, O::log>{});
    case O::sqrt: return f(std::integral_constant<O, O::sqrt>{});
    case O::abs: return f(std::integral_constant<O, O::abs>{});
    case O::square: return f(std::integral_constant<O, O::square>{});
    case O::pow: return f(std::integral_constant<O, O::pow>{});
    case O::tanh: return f(std::integral_constant<O, O::tanh>{});
    case O::sigmoid: return f(std::integral_constant<O, O::sigmoid>{});
    case O::relu: return f(std::integral_constant<O, O::relu>{});
    case O::leaky_relu: return f(std::integral_constant<O, O::leaky_relu>{});
    case O::silu: return f(std::integral_constant<O, O::silu>{});
    case O::gelu: return f(std::integral_constant<O, O::gelu>{});
  }
}

}  // namespace sdkd::kern
