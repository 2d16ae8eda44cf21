#pragma once
// Private helpers shared by the op implementations.
#include "sdkd/error.hpp"
#include "sdkd/tensor.hpp"

// Runs the block with T bound to the C++ type of `dtype`.
#define SDKD_DISPATCH(dtype, T, ...)                       \
  switch (dtype) {                                         \
    case ::sdkd::DType::f32: {                             \
      using T = float;                                     \
      __VA_ARGS__;                                         \
      break;                                               \
    }                                                      \
    case ::sdkd::DType::f64: {                             \
      using T = double;                                    \
      __VA_ARGS__;                                         \
      break;                                               \
    }                                                      \
  }

namespace sdkd::detail {

// Ops of this release run on the CPU; the CUDA backend plugs in at the same dispatch points.
inline void require_cpu(const Tensor& t, const char* op) {
  SDKD_CHECK(t.defined(), op, ": got an undefined tensor");
  SDKD_CHECK(t.device().is_cpu(), op, ": tensor on ", t.device().str(),
             " but this op has no kernel for that device in this build");
}

inline void require_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  SDKD_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
}

inline int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
  const int64_t w = d < 0 ? d + ndim : d;
  SDKD_CHECK(w >= 0 && w < ndim, op, ": dimension ", d, " out of range for a ", ndim, "-d tensor");
  return w;
}

}  // namespace sdkd::detail
