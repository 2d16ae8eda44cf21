#pragma once
// Private helpers shared by the op implementations.
#include <cstdint>

#include "cuda_context.hpp"
#include "sdkd/error.hpp"
#include "sdkd/tensor.hpp"

// One case of a dtype switch: runs the block with T bound to `type`.
#define SDKD_DISPATCH_CASE(tag, type, T, ...) \
  case ::sdkd::DType::tag: {                  \
    using T = type;                           \
    __VA_ARGS__;                              \
    break;                                    \
  }

// Runs the block with T bound to the C++ type of `dtype` (the floating types: what the
// arithmetic kernels take; an int32 tensor gets one clear error).
#define SDKD_DISPATCH(dtype, T, ...)                   \
  switch (dtype) {                                     \
    SDKD_DISPATCH_CASE(f32, float, T, __VA_ARGS__)     \
    SDKD_DISPATCH_CASE(f64, double, T, __VA_ARGS__)    \
    case ::sdkd::DType::i32:                           \
      ::sdkd::detail::throw_not_floating();            \
  }

// The same over every dtype, int32 included: for copies, conversions, fills and transfers.
#define SDKD_DISPATCH_ALL(dtype, T, ...)               \
  switch (dtype) {                                     \
    SDKD_DISPATCH_CASE(f32, float, T, __VA_ARGS__)     \
    SDKD_DISPATCH_CASE(f64, double, T, __VA_ARGS__)    \
    SDKD_DISPATCH_CASE(i32, int32_t, T, __VA_ARGS__)   \
  }

// SDKD_CUDA_ONLY(stmt) runs a call into the CUDA backend. In a CPU-only build the call is
// compiled out (so nothing needs linking) and reaching it throws; it cannot be reached in
// practice, because no tensor can be allocated on a CUDA device in such a build.
#ifdef SDKD_WITH_CUDA
#define SDKD_CUDA_ONLY(...) __VA_ARGS__
#else
#define SDKD_CUDA_ONLY(...) ::sdkd::detail::throw_no_cuda()
#endif

namespace sdkd::detail {

// Arithmetic kernels exist for float32 and float64 only; int32 tensors hold indices.
[[noreturn]] inline void throw_not_floating() {
  throw Error("this op computes on float32 or float64 tensors, got an int32 tensor (convert with .to(DType::f32))");
}

[[noreturn]] inline void throw_no_cuda() {
  throw Error("this build has no CUDA backend (configure with -DSDKD_CUDA=ON)");
}

inline void require_defined(const Tensor& t, const char* op) {
  SDKD_CHECK(t.defined(), op, ": got an undefined tensor");
}

// Ops without a CUDA kernel use this; the error names the op and the device.
inline void require_cpu(const Tensor& t, const char* op) {
  require_defined(t, op);
  SDKD_CHECK(t.device().is_cpu(), op, ": tensor on ", t.device().str(),
             " but this op has no kernel for that device in this build");
}

inline bool on_cuda(const Tensor& t) { return t.defined() && !t.device().is_cpu(); }

// Every defined tensor among the op's inputs must be on `a`'s device.
inline void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (!a.defined() || !b.defined()) return;
  SDKD_CHECK(a.device() == b.device(), op, ": tensors on different devices, ", a.device().str(), " and ",
             b.device().str(), " (move them with .to(device) first)");
}

inline void require_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  SDKD_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
}

// CUDA kernels are float32 only; float64 stays a CPU feature (for finite-difference checks).
inline void require_f32_on_cuda(const Tensor& t, const char* op) {
  SDKD_CHECK(t.dtype() == DType::f32, op, ": CUDA kernels take float32, got ", t.str(),
             " (convert with .to(DType::f32) or run float64 on the CPU)");
}

// A contiguous float32 CUDA tensor whose first element is 16-byte aligned (cuFFT wants its
// complex data aligned; a view with an odd offset is copied into a fresh buffer).
inline Tensor cufft_ready(const Tensor& t, const char* op) {
  require_f32_on_cuda(t, op);
  Tensor c = t.contiguous();
  if (reinterpret_cast<uintptr_t>(c.data<float>()) % 16 != 0) c = c.detach().clone();
  return c;
}

inline int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
  const int64_t w = d < 0 ? d + ndim : d;
  SDKD_CHECK(w >= 0 && w < ndim, op, ": dimension ", d, " out of range for a ", ndim, "-d tensor");
  return w;
}

}  // namespace sdkd::detail
