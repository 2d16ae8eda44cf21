#pragma once
// Shared by every CUDA kernel file: launch helpers and warp/block reductions, plus (from the
// runtime layer below the kernels) the CHECK family and the current stream. Private to the
// build (never installed, never in a public header).
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/cuda_check.cuh"

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
