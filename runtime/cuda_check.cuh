#pragma once
// The CUDA runtime layer as the kernels see it (CUDA types): the stream and handles every
// launch uses, cached device attributes, and one error style for the runtime, cuBLAS and
// cuFFT. Implemented in runtime/runtime.cu; included by kernels/cuda/common.cuh and the
// runtime itself.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include "sdkd/error.hpp"

namespace sdkd::cuda_rt {
// The stream all kernels of `device` (default: the current one) are launched on. Kernel
// launchers take no stream argument: ordering is by this one stream per device.
cudaStream_t stream();
cublasHandle_t cublas_handle();
// An attribute of the current device (SM count, compute capability, shared-memory limits),
// queried once per device and cached: kernels pick tile shapes from these on every launch.
int device_attribute(cudaDeviceAttr attr);
const char* cufft_error_string(cufftResult r);
const char* cublas_error_string(cublasStatus_t s);
}  // namespace sdkd::cuda_rt

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

