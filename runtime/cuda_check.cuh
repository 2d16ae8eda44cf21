#pragma once
// The CUDA runtime layer as the kernels see it (CUDA types): the stream and handle behind an
// ExecContext (runtime/exec_context.hpp), and one error style for the runtime, cuBLAS and
// cuFFT. Implemented in runtime/runtime.cu; included by kernels/cuda/common.cuh and the
// runtime itself.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include "runtime/exec_context.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cuda_rt {
// The stream of `device` (created on first use). For the runtime itself: kernels launch on the
// stream of the ExecContext they are given (gpu::stream_of below).
cudaStream_t device_stream(int device);
const char* cufft_error_string(cufftResult r);
const char* cublas_error_string(cublasStatus_t s);
}  // namespace sdkd::cuda_rt

namespace sdkd::gpu {
// The CUDA types behind an ExecContext's opaque handles.
inline cudaStream_t stream_of(const ExecContext& ctx) { return static_cast<cudaStream_t>(ctx.stream); }
inline cublasHandle_t blas_of(const ExecContext& ctx) { return static_cast<cublasHandle_t>(ctx.blas); }
}  // namespace sdkd::gpu

// One error style for the runtime, cuBLAS and cuFFT: the call, the place and the error text.
#define SDKD_CUDA_CHECK(call)                                                                   \
  do {                                                                                          \
    const cudaError_t sdkd_err_ = (call);                                                       \
    if (sdkd_err_ != cudaSuccess)                                                               \
      throw ::sdkd::Error(::sdkd::str_cat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",  \
                                          cudaGetErrorName(sdkd_err_), " (",                    \
                                          cudaGetErrorString(sdkd_err_), ")"));                 \
  } while (0)

#define SDKD_CUBLAS_CHECK(call)                                                                 \
  do {                                                                                          \
    const cublasStatus_t sdkd_st_ = (call);                                                     \
    if (sdkd_st_ != CUBLAS_STATUS_SUCCESS)                                                      \
      throw ::sdkd::Error(::sdkd::str_cat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",  \
                                          ::sdkd::cuda_rt::cublas_error_string(sdkd_st_)));     \
  } while (0)

#define SDKD_CUFFT_CHECK(call)                                                                  \
  do {                                                                                          \
    const cufftResult sdkd_fr_ = (call);                                                        \
    if (sdkd_fr_ != CUFFT_SUCCESS)                                                              \
      throw ::sdkd::Error(::sdkd::str_cat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",  \
                                          ::sdkd::cuda_rt::cufft_error_string(sdkd_fr_)));      \
  } while (0)

// After a launch: reports a bad configuration at the launch site, not at a later sync.
#define SDKD_CUDA_LAUNCH_CHECK() SDKD_CUDA_CHECK(cudaGetLastError())

