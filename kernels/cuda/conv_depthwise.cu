// Direct kernels for lowered convolutions (kernels/common/conv_problem.hpp) with one
// image-side channel per group (depthwise, and img_channels = 1): a GEMM over kH*kW-deep
// products would spend its time loading tiles, so each thread computes one output (or input)
// pixel from weights held in shared memory.
// The weight gradient reduces over (batch, output plane) per (channel, tap) in a fixed order:
// blocks write per-split partials, summed in split order: deterministic with no atomics.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv.hpp"

namespace sdkd::gpu {
namespace {

constexpr int kMaxPlanesPerLaunch = 65535;  // gridDim.y; larger counts loop over planes
constexpr int kTapsPerBlock = 8;            // weight-gradient taps accumulated per thread

// grid.x: pixel blocks of the output plane, grid.y: planes (n, c_out), looped past 65535.
__global__ void dw_forward_kernel(const DeviceConvProblem g, const float* __restrict__ x,
                                  const float* __restrict__ w, const float* __restrict__ bias,
                                  float* __restrict__ y) {
  extern __shared__ float ws[];  // the plane's kH*kW weights
  const int P = g.Ho * g.Wo, kHW = g.kH * g.kW, Cog = g.col_group();
  const int planes = g.N * g.col_channels, pix = blockIdx.x * blockDim.x + threadIdx.x;
  for (int plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int b = plane / g.col_channels, co = plane - b * g.col_channels, ci = co / Cog;
    __syncthreads();  // the previous plane's weights are no longer read
    for (int t = threadIdx.x; t < kHW; t += blockDim.x) ws[t] = w[co * kHW + t];
    __syncthreads();
    if (pix >= P) continue;
    const int oh = pix / g.Wo, ow = pix - oh * g.Wo;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
    const float* xp = x + (b * g.img_channels + ci) * g.H * g.W;
    float acc = 0.0f;
    for (int kh = 0; kh < g.kH; ++kh) {
      const int ih = ih0 + kh * g.dil_h;
      if (unsigned(ih) >= unsigned(g.H)) continue;
      for (int kw = 0; kw < g.kW; ++kw) {
        const int iw = iw0 + kw * g.dil_w;
        if (unsigned(iw) < unsigned(g.W)) acc = fmaf(__ldg(xp + ih * g.W + iw), ws[kh * g.kW + kw], acc);
      }
    }
    y[plane * P + pix] = acc + (bias != nullptr ? bias[co] : 0.0f);
  }
}

// grid.x: pixel blocks of the input plane, grid.y: planes (n, c_in). Each input pixel sums
// over the col_group() column channels it feeds and the taps whose output position is whole:
// (i + pad - k*dil) must be a non-negative multiple of the stride.
__global__ void dw_backward_data_kernel(const DeviceConvProblem g, const float* __restrict__ dy,
                                        const float* __restrict__ w, const float* __restrict__ bias,
                                        float* __restrict__ dx) {
  extern __shared__ float ws[];  // col_group() * kH * kW weights of this image channel
  const int P = g.Ho * g.Wo, HW = g.H * g.W, kHW = g.kH * g.kW, Cog = g.col_group();
  const int planes = g.N * g.img_channels, pix = blockIdx.x * blockDim.x + threadIdx.x;
  for (int plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int b = plane / g.img_channels, ci = plane - b * g.img_channels;
    __syncthreads();
    for (int t = threadIdx.x; t < Cog * kHW; t += blockDim.x) ws[t] = w[ci * Cog * kHW + t];
    __syncthreads();
    if (pix >= HW) continue;
    const int ih = pix / g.W, iw = pix - ih * g.W;
    float acc = 0.0f;
    for (int j = 0; j < Cog; ++j) {
      const float* dyp = dy + (b * g.col_channels + ci * Cog + j) * P;
      const float* wj = ws + j * kHW;
      for (int kh = 0; kh < g.kH; ++kh) {
        const int th = ih + g.pad_h - kh * g.dil_h;
        if (th < 0) break;  // th only falls as kh grows
        if (th % g.stride_h != 0) continue;
        const int oh = th / g.stride_h;
        if (oh >= g.Ho) continue;
        for (int kw = 0; kw < g.kW; ++kw) {
          const int tw = iw + g.pad_w - kw * g.dil_w;
          if (tw < 0) break;
          if (tw % g.stride_w != 0) continue;
          const int ow = tw / g.stride_w;
          if (ow < g.Wo) acc = fmaf(__ldg(dyp + oh * g.Wo + ow), wj[kh * g.kW + kw], acc);
        }
      }
    }
    dx[plane * HW + pix] = acc + (bias != nullptr ? bias[ci] : 0.0f);
  }
}

// grid.x: c_out * tap groups, grid.y: splits of the reduction over (n, oh, ow). Each thread
// strides over the split with up to kTapsPerBlock products per position, then one block tree
// per tap; the result goes to out[split * col_channels*kH*kW + c_out*kH*kW + tap].
__global__ void dw_backward_weight_kernel(const DeviceConvProblem g, const float* __restrict__ x,
                                          const float* __restrict__ dy, float* __restrict__ out, int chunk,
                                          int tap_groups) {
  __shared__ float scratch[32];
  const int P = g.Ho * g.Wo, kHW = g.kH * g.kW, Cog = g.col_group();
  const int co = blockIdx.x / tap_groups, tg = blockIdx.x - co * tap_groups, ci = co / Cog;
  const int R = g.N * P, r_begin = blockIdx.y * chunk, r_end = min(R, r_begin + chunk);
  int khd[kTapsPerBlock], kwd[kTapsPerBlock];
#pragma unroll
  for (int j = 0; j < kTapsPerBlock; ++j) {
    const int tap = tg * kTapsPerBlock + j;
    khd[j] = kwd[j] = 1 << 29;  // a tap past the kernel never passes the bounds check
    if (tap < kHW) {
      const int kh = tap / g.kW;
      khd[j] = kh * g.dil_h;
      kwd[j] = (tap - kh * g.kW) * g.dil_w;
    }
  }
  float acc[kTapsPerBlock] = {};
  for (int r = r_begin + threadIdx.x; r < r_end; r += blockDim.x) {
    const int b = r / P, pix = r - b * P;
    const int oh = pix / g.Wo, ow = pix - oh * g.Wo;
    const float v = __ldg(dy + (b * g.col_channels + co) * P + pix);
    const float* xp = x + (b * g.img_channels + ci) * g.H * g.W;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
#pragma unroll
    for (int j = 0; j < kTapsPerBlock; ++j) {
      const int ih = ih0 + khd[j], iw = iw0 + kwd[j];
      if (unsigned(ih) < unsigned(g.H) && unsigned(iw) < unsigned(g.W))
        acc[j] = fmaf(v, __ldg(xp + ih * g.W + iw), acc[j]);
    }
  }
#pragma unroll
  for (int j = 0; j < kTapsPerBlock; ++j) {
    const float s = block_sum(acc[j], scratch);
    const int tap = tg * kTapsPerBlock + j;
    if (threadIdx.x == 0 && tap < kHW) out[blockIdx.y * g.col_channels * kHW + co * kHW + tap] = s;
  }
}

struct DwPlan {
  int tap_groups, splits, chunk;
};

// Splits so that about four blocks per multiprocessor run, each split >= 4096 positions.
DwPlan plan_dw_wgrad(const ExecContext& ctx, const DeviceConvProblem& g) {
  const int kHW = g.kH * g.kW;
  const int64_t R = int64_t(g.N) * g.Ho * g.Wo, size = int64_t(g.col_channels) * kHW;
  DwPlan plan{(kHW + kTapsPerBlock - 1) / kTapsPerBlock, 1, int(std::max<int64_t>(R, 1))};
  const int64_t blocks = int64_t(g.col_channels) * plan.tap_groups;
  int64_t splits = (4 * int64_t(std::max(ctx.sm_count, 1)) + blocks - 1) / blocks;
  splits = std::min({splits, std::max<int64_t>(1, R / 4096), int64_t(65535), std::max<int64_t>(1, INT32_MAX / size)});
  splits = std::max<int64_t>(splits, 1);
  const int64_t chunk = (std::max<int64_t>(R, 1) + splits - 1) / splits;
  plan.chunk = int(chunk);
  plan.splits = int((std::max<int64_t>(R, 1) + chunk - 1) / chunk);
  return plan;
}

unsigned plane_grid(int64_t planes) { return unsigned(std::min<int64_t>(std::max<int64_t>(planes, 1), kMaxPlanesPerLaunch)); }

}  // namespace

void depthwise_forward(const ExecContext& ctx, const DeviceConvProblem& g, const float* img, const float* w,
                       const float* bias, float* col) {
  const int64_t P = int64_t(g.Ho) * g.Wo;
  const dim3 grid(grid_for(P, kThreads, int64_t(1) << 30), plane_grid(int64_t(g.N) * g.col_channels));
  const size_t smem = size_t(g.kH) * g.kW * sizeof(float);
  dw_forward_kernel<<<grid, kThreads, smem, stream_of(ctx)>>>(g, img, w, bias, col);
  SDKD_CUDA_LAUNCH_CHECK();
}

void depthwise_backward_data(const ExecContext& ctx, const DeviceConvProblem& g, const float* col, const float* w,
                             const float* bias_in, float* img) {
  const int64_t HW = int64_t(g.H) * g.W;
  const dim3 grid(grid_for(HW, kThreads, int64_t(1) << 30), plane_grid(int64_t(g.N) * g.img_channels));
  const size_t smem = size_t(g.col_group()) * g.kH * g.kW * sizeof(float);
  dw_backward_data_kernel<<<grid, kThreads, smem, stream_of(ctx)>>>(g, col, w, bias_in, img);
  SDKD_CUDA_LAUNCH_CHECK();
}

void depthwise_backward_weight(const ExecContext& ctx, const DeviceConvProblem& g, const float* img,
                               const float* col, float* dw) {
  const DwPlan plan = plan_dw_wgrad(ctx, g);
  const int size = g.col_channels * g.kH * g.kW;
  // Per-split partials in launch-local scratch (none for a single split).
  const Workspace parts(ctx, plan.splits > 1 ? size_t(plan.splits) * size_t(size) * sizeof(float) : 0);
  float* out = plan.splits > 1 ? parts.as<float>() : dw;
  const dim3 grid(unsigned(g.col_channels * plan.tap_groups), unsigned(plan.splits));
  dw_backward_weight_kernel<<<grid, kThreads, 0, stream_of(ctx)>>>(g, img, col, out, plan.chunk, plan.tap_groups);
  SDKD_CUDA_LAUNCH_CHECK();
  if (plan.splits > 1) conv_sum_splits(ctx, parts.as<float>(), plan.splits, size, dw);
}

}  // namespace sdkd::gpu
