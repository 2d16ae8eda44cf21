#pragma once
// The four arithmetic binary ops, written once for both backends: the engine's CPU loops
// (engine/src/ops_elementwise.cpp, in the tensor's type) and the CUDA kernels
// (kernels/cuda/elementwise.cu, float) call binary_value.
#include <type_traits>

#include "kernels/internal.hpp"
#include "sdkd/host_device.hpp"

namespace sdkd::kern {

enum class BinaryOp { add, sub, mul, div };

template <BinaryOp K, class T>
SDKD_HD inline T binary_value(T x, T y) {
  if constexpr (K == BinaryOp::add) return x + y;
  else if constexpr (K == BinaryOp::sub) return x - y;
  else if constexpr (K == BinaryOp::mul) return x * y;
  else return x / y;
}

// Calls f(std::integral_constant<BinaryOp, K>{}) for the runtime op (see visit_unary).
template <class F>
inline void visit_binary(BinaryOp op, F&& f) {
  using O = BinaryOp;
  switch (op) {
    case O::add: return f(std::integral_constant<O, O::add>{});
    case O::sub: return f(std::integral_constant<O, O::sub>{});
    case O::mul: return f(std::integral_constant<O, O::mul>{});
    case O::div: return f(std::integral_constant<O, O::div>{});
  }
}

}  // namespace sdkd::kern
