// Softmax forward / backward (CUDA twins of ops_attention.cpp's loops) and drop_path's
// per-sample scaling. A lane (one softmax vector) is reduced by a warp or, when long, a block;
// see softmax.hpp for the accuracy and determinism choice.
#include "kernels/cuda/softmax.hpp"

#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "sdkd/error.hpp"

namespace sdkd::gpu {
namespace {

constexpr int kSoftmaxThreads = 256;
constexpr int64_t kWarpLaneMax = 1024;  // longest lane reduced by a single warp

// Where a warp (kWarp = true, 8 lanes per block) or a block works: its lane id, its width, and
// the first softmax lane / the stride between its lanes.
template <bool kWarp>
struct LaneLayout {
  __device__ static int id() { return kWarp ? int(threadIdx.x & 31) : int(threadIdx.x); }
  __device__ static int width() { return kWarp ? 32 : int(blockDim.x); }
  __device__ static int64_t first() {
    return kWarp ? int64_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5) : int64_t(blockIdx.x);
  }
  __device__ static int64_t stride() { return kWarp ? int64_t(gridDim.x) * (blockDim.x / 32) : int64_t(gridDim.x); }
};

// Every thread of the warp / block gets the same result (the butterfly adds commute exactly).
template <bool kWarp>
__device__ __forceinline__ double lane_sum(double v, double* scratch) {
  if constexpr (kWarp) {
    (void)scratch;
    return warp_sum(v);
  } else {
    return block_sum(v, scratch);
  }
}

template <bool kWarp>
__device__ __forceinline__ float lane_max(float v, float* scratch) {
  v = warp_max(v);
  if constexpr (kWarp) {
    (void)scratch;
    return v;
  } else {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    const int nwarps = (blockDim.x + 31) >> 5;
    v = lane < nwarps ? scratch[lane] : scratch[0];
    return warp_max(v);
  }
}

__device__ __forceinline__ int64_t lane_base(int64_t l, int64_t D, int64_t inner) {
  return (l / inner) * D * inner + l % inner;
}

template <bool kWarp>
__global__ void softmax_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t lanes, int64_t D,
                                       int64_t inner) {
  __shared__ double dscratch[32];
  __shared__ float fscratch[32];
  using L = LaneLayout<kWarp>;
  for (int64_t l = L::first(); l < lanes; l += L::stride()) {
    const int64_t base = lane_base(l, D, inner);
    const float* xs = x + base;
    float* ys = y + base;
    float mx = xs[0];
    for (int64_t j = L::id(); j < D; j += L::width()) mx = fmaxf(mx, xs[j * inner]);
    mx = lane_max<kWarp>(mx, fscratch);
    double sum = 0;
    for (int64_t j = L::id(); j < D; j += L::width()) sum += double(expf(xs[j * inner] - mx));
    sum = lane_sum<kWarp>(sum, dscratch);
    const float inv = float(1.0 / sum);
    // exp is recomputed rather than stored and reread: the same input gives the same value.
    for (int64_t j = L::id(); j < D; j += L::width()) ys[j * inner] = expf(xs[j * inner] - mx) * inv;
  }
}

template <bool kWarp>
__global__ void softmax_backward_kernel(const float* __restrict__ y, const float* __restrict__ g,
                                        float* __restrict__ dx, int64_t lanes, int64_t D, int64_t inner) {
  __shared__ double dscratch[32];
  using L = LaneLayout<kWarp>;
  for (int64_t l = L::first(); l < lanes; l += L::stride()) {
    const int64_t base = lane_base(l, D, inner);
    double dot = 0;
    for (int64_t j = L::id(); j < D; j += L::width()) dot += double(g[base + j * inner]) * double(y[base + j * inner]);
    const float s = float(lane_sum<kWarp>(dot, dscratch));
    for (int64_t j = L::id(); j < D; j += L::width()) {
      const int64_t at = base + j * inner;
      dx[at] = y[at] * (g[at] - s);
    }
  }
}

// Samples on grid.x, the values of a sample on grid.y (grid-stride): no division per element.
__global__ void scale_samples_kernel(const float* __restrict__ x, const float* __restrict__ scale,
                                     float* __restrict__ y, int64_t per_sample) {
  const int64_t b = blockIdx.x;
  const float s = scale[b];
  const float* xb = x + b * per_sample;
  float* yb = y + b * per_sample;
  for (int64_t i = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; i < per_sample; i += int64_t(gridDim.y) * blockDim.x)
    yb[i] = xb[i] * s;
}

unsigned lane_blocks(int64_t lanes, bool warp) {
  const int64_t per_block = warp ? kSoftmaxThreads / 32 : 1;
  return unsigned(std::clamp<int64_t>((lanes + per_block - 1) / per_block, 1, 65535LL * 8));
}

void check_lanes(int64_t outer, int64_t D, int64_t inner, const char* fn) {
  SDKD_CHECK(outer >= 0 && D >= 0 && inner >= 0, fn, ": sizes must be non-negative, got outer=", outer, " D=", D,
             " inner=", inner);
}

}  // namespace

void softmax_forward(const ExecContext& ctx, const float* x, float* y, int64_t outer, int64_t D, int64_t inner) {
  check_lanes(outer, D, inner, "gpu::softmax_forward");
  const int64_t lanes = outer * inner;
  if (lanes == 0 || D == 0) return;
  cudaStream_t st = stream_of(ctx);
  if (D <= kWarpLaneMax)
    softmax_forward_kernel<true><<<lane_blocks(lanes, true), kSoftmaxThreads, 0, st>>>(x, y, lanes, D, inner);
  else
    softmax_forward_kernel<false><<<lane_blocks(lanes, false), kSoftmaxThreads, 0, st>>>(x, y, lanes, D, inner);
  SDKD_CUDA_LAUNCH_CHECK();
}

void softmax_backward(const ExecContext& ctx, const float* y, const float* g, float* dx, int64_t outer, int64_t D, int64_t inner) {
  check_lanes(outer, D, inner, "gpu::softmax_backward");
  const int64_t lanes = outer * inner;
  if (lanes == 0 || D == 0) return;
  cudaStream_t st = stream_of(ctx);
  if (D <= kWarpLaneMax)
    softmax_backward_kernel<true><<<lane_blocks(lanes, true), kSoftmaxThreads, 0, st>>>(y, g, dx, lanes, D, inner);
  else
    softmax_backward_kernel<false><<<lane_blocks(lanes, false), kSoftmaxThreads, 0, st>>>(y, g, dx, lanes, D, inner);
  SDKD_CUDA_LAUNCH_CHECK();
}

void scale_samples(const ExecContext& ctx, const float* x, const float* scale, float* y, int64_t samples, int64_t per_sample) {
  SDKD_CHECK(samples >= 0 && per_sample >= 0, "gpu::scale_samples: sizes must be non-negative, got samples=", samples,
             " per_sample=", per_sample);
  SDKD_CHECK(samples <= int64_t(0x7fffffff), "gpu::scale_samples: ", samples, " samples exceed the grid limit");
  if (samples == 0 || per_sample == 0) return;
  const int threads = int(std::clamp<int64_t>((per_sample + 31) / 32 * 32, 32, 256));
  const int64_t per = std::clamp<int64_t>((per_sample + threads * 4 - 1) / (threads * 4), 1, 65535);
  scale_samples_kernel<<<dim3(unsigned(samples), unsigned(per)), threads, 0, stream_of(ctx)>>>(x, scale, y,
                                                                                                  per_sample);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
