#pragma once
// Shared by every CUDA kernel file: the CHECK family, the current stream, launch helpers and
// warp/block reductions. Private to the build (never installed, never in a public header).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <cstdint>

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

namespace sdkd::gpu {

constexpr int kThreads = 256;

// Blocks for n elements at `threads` per block, capped so grid-stride loops cover the rest.
inline unsigned grid_for(int64_t n, int threads = kThreads, int64_t cap = 65535LL * 8) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return unsigned(b);
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class T>
__device__ __forceinline__ T warp_max(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// `scratch` holds 32 values of T in shared memory.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int nwarps = (blockDim.x + 31) >> 5;
  v = lane < nwarps ? scratch[lane] : T(0);
  return warp_sum(v);
}

}  // namespace sdkd::gpu
