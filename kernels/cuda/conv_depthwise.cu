// Direct kernels for convolutions with one image-side channel per group (depthwise, and
// C_in = 1): a GEMM over kH*kW-deep products would spend its time loading tiles, so each
// thread computes one output (or input) pixel from weights held in shared memory.
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
__global__ void dw_forward_kernel(const ConvGeom g, const float* __restrict__ x, const float* __restrict__ w,
                                  const float* __restrict__ bias, float* __restrict__ y) {
  extern __shared__ float ws[];  // the plane's kH*kW weights
  const int P = g.H_out * g.W_out, kHW = g.kH * g.kW, Cog = g.C_out / g.groups;
  const int planes = g.N * g.C_out, pix = blockIdx.x * blockDim.x + threadIdx.x;
  for (int plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int b = plane / g.C_out, co = plane - b * g.C_out, ci = co / Cog;
    __syncthreads();  // the previous plane's weights are no longer read
    for (int t = threadIdx.x; t < kHW; t += blockDim.x) ws[t] = w[co * kHW + t];
    __syncthreads();
    if (pix >= P) continue;
    const int oh = pix / g.W_out, ow = pix - oh * g.W_out;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
    const float* xp = x + (b * g.C_in + ci) * g.H * g.W;
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
// over the C_out/groups channels it feeds and the taps whose output position is whole:
// (i + pad - k*dil) must be a non-negative multiple of the stride.
__global__ void dw_backward_data_kernel(const ConvGeom g, const float* __restrict__ dy, const float* __restrict__ w,
                                        const float* __restrict__ bias, float* __restrict__ dx) {
  extern __shared__ float ws[];  // (C_out/groups) * kH * kW weights of this input channel
  const int P = g.H_out * g.W_out, HW = g.H * g.W, kHW = g.kH * g.kW, Cog = g.C_out / g.groups;
  const int planes = g.N * g.C_in, pix = blockIdx.x * blockDim.x + threadIdx.x;
  for (int plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int b = plane / g.C_in, ci = plane - b * g.C_in;
    __syncthreads();
    for (int t = threadIdx.x; t < Cog * kHW; t += blockDim.x) ws[t] = w[ci * Cog * kHW + t];
    __syncthreads();
    if (pix >= HW) continue;
    const int ih = pix / g.W, iw = pix - ih * g.W;
    float acc = 0.0f;
    for (int j = 0; j < Cog; ++j) {
      const float* dyp = dy + (b * g.C_out + ci * Cog + j) * P;
      const float* wj = ws + j * kHW;
      for (int kh = 0; kh < g.kH; ++kh) {
        const int th = ih + g.pad_h - kh * g.dil_h;
        if (th < 0) break;  // th only falls as kh grows
        if (th % g.stride_h != 0) continue;
        const int oh = th / g.stride_h;
        if (oh >= g.H_out) continue;
        for (int kw = 0; kw < g.kW; ++kw) {
          const int tw = iw + g.pad_w - kw * g.dil_w;
          if (tw < 0) break;
          if (tw % g.stride_w != 0) continue;
          const int ow = tw / g.stride_w;
          if (ow < g.W_out) acc = fmaf(__ldg(dyp + oh * g.W_out + ow), wj[kh * g.kW + kw], acc);
        }
      }
    }
    dx[plane * HW + pix] = acc + (bias != nullptr ? bias[ci] : 0.0f);
  }
}

// grid.x: c_out * tap groups, grid.y: splits of the reduction over (n, oh, ow). Each thread
// strides over the split with up to kTapsPerBlock products per position, then one block tree
// per tap; the result goes to out[split * C_out*kH*kW + c_out*kH*kW + tap].
__global__ void dw_backward_weight_kernel(const ConvGeom g, const float* __restrict__ x, const float* __restrict__ dy,
                                          float* __restrict__ out, int chunk, int tap_groups) {
  __shared__ float scratch[32];
  const int P = g.H_out * g.W_out, kHW = g.kH * g.kW, Cog = g.C_out / g.groups;
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
    const int oh = pix / g.W_out, ow = pix - oh * g.W_out;
    const float v = __ldg(dy + (b * g.C_out + co) * P + pix);
    const float* xp = x + (b * g.C_in + ci) * g.H * g.W;
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
    if (threadIdx.x == 0 && tap < kHW) out[blockIdx.y * g.C_out * kHW + co * kHW + tap] = s;
  }
}

struct DwPlan {
  int tap_groups, splits, chunk;
};

// Splits so that about four blocks per multiprocessor run, each split >= 4096 positions.
DwPlan plan_dw_wgrad(const ConvGeom& g) {
  const int kHW = g.kH * g.kW;
  const int64_t R = int64_t(g.N) * g.H_out * g.W_out, size = int64_t(g.C_out) * kHW;
  DwPlan plan{(kHW + kTapsPerBlock - 1) / kTapsPerBlock, 1, int(std::max<int64_t>(R, 1))};
  const int64_t blocks = int64_t(g.C_out) * plan.tap_groups;
  int64_t splits = (4 * int64_t(conv_sm_count()) + blocks - 1) / blocks;
  splits = std::min({splits, std::max<int64_t>(1, R / 4096), int64_t(65535), std::max<int64_t>(1, INT32_MAX / size)});
  splits = std::max<int64_t>(splits, 1);
  const int64_t chunk = (std::max<int64_t>(R, 1) + splits - 1) / splits;
  plan.chunk = int(chunk);
  plan.splits = int((std::max<int64_t>(R, 1) + chunk - 1) / chunk);
  return plan;
}

unsigned plane_grid(int64_t planes) { return unsigned(std::min<int64_t>(std::max<int64_t>(planes, 1), kMaxPlanesPerLaunch)); }

}  // namespace

void depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t P = int64_t(g.H_out) * g.W_out;
  const dim3 grid(grid_for(P, kThreads, int64_t(1) << 30), plane_grid(int64_t(g.N) * g.C_out));
  const size_t smem = size_t(g.kH) * g.kW * sizeof(float);
  dw_forward_kernel<<<grid, kThreads, smem, cuda_rt::stream()>>>(g, x, w, bias, y);
  SDKD_CUDA_LAUNCH_CHECK();
}

void depthwise_backward_data(const ConvGeom& g, const float* dy, const float* w, const float* bias_in, float* dx) {
  const int64_t HW = int64_t(g.H) * g.W;
  const dim3 grid(grid_for(HW, kThreads, int64_t(1) << 30), plane_grid(int64_t(g.N) * g.C_in));
  const size_t smem = size_t(g.C_out / g.groups) * g.kH * g.kW * sizeof(float);
  dw_backward_data_kernel<<<grid, kThreads, smem, cuda_rt::stream()>>>(g, dy, w, bias_in, dx);
  SDKD_CUDA_LAUNCH_CHECK();
}

int64_t depthwise_backward_weight_workspace(const ConvGeom& g) {
  const DwPlan plan = plan_dw_wgrad(g);
  return plan.splits > 1 ? int64_t(plan.splits) * g.C_out * g.kH * g.kW : 0;
}

void depthwise_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw, float* workspace) {
  const DwPlan plan = plan_dw_wgrad(g);
  const int size = g.C_out * g.kH * g.kW;
  SDKD_CHECK(plan.splits == 1 || workspace != nullptr, "depthwise conv backward-weight: needs a workspace of ",
             depthwise_backward_weight_workspace(g), " floats");
  float* out = plan.splits > 1 ? workspace : dw;
  const dim3 grid(unsigned(g.C_out * plan.tap_groups), unsigned(plan.splits));
  dw_backward_weight_kernel<<<grid, kThreads, 0, cuda_rt::stream()>>>(g, x, dy, out, plan.chunk, plan.tap_groups);
  SDKD_CUDA_LAUNCH_CHECK();
  if (plan.splits > 1) conv_sum_splits(workspace, plan.splits, size, dw);
}

}  // namespace sdkd::gpu
