// Bilinear resampling kernels. The source taps are recomputed per thread with the CPU twin's
// double expressions (bilinear_taps in engine/src/ops_resample.cpp), and the forward blends
// in double as the CPU does, so the two agree to double rounding (both compilers may fuse
// multiply-adds) before the final rounding to float: equal in practice.
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/resample.hpp"

namespace sdkd::gpu {

namespace {

struct Tap {
  int64_t i0, i1;
  double w0, w1;
};

// Output index o of an axis of `in` inputs reads i0 and i1 with weights w0 and w1.
__device__ __forceinline__ Tap tap(int64_t o, int64_t in, double scale) {
  const double src = fmax((double(o) + 0.5) * scale - 0.5, 0.0);
  Tap t;
  t.i0 = min(int64_t(src), in - 1);
  t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
  t.w1 = src - double(t.i0);
  t.w0 = 1.0 - t.w1;
  return t;
}

// Weight with which output index o reads input index i (0 when it does not).
__device__ __forceinline__ double weight(int64_t o, int64_t i, int64_t in, double scale) {
  const Tap t = tap(o, in, scale);
  return (t.i0 == i ? t.w0 : 0.0) + (t.i1 == i ? t.w1 : 0.0);
}

// The outputs whose taps can reach input i: those with source position in [i - 1, i + 1),
// widened by one on each side against rounding, clamped to the axis.
__device__ __forceinline__ void reach(int64_t i, int64_t out, double scale, int64_t& lo, int64_t& hi) {
  lo = max(int64_t(floor((double(i) - 0.5) / scale - 0.5)) - 1, int64_t(0));
  hi = min(int64_t(ceil((double(i) + 1.5) / scale - 0.5)) + 1, out - 1);
}

__global__ void forward_kernel(float* y, const float* x, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                               double sh, double sw) {
  const int64_t n = planes * OH * OW;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = k % OW, oh = (k / OW) % OH, pl = k / (OW * OH);
    const Tap r = tap(oh, H, sh), c = tap(ow, W, sw);
    const float* x0 = x + (pl * H + r.i0) * W;
    const float* x1 = x + (pl * H + r.i1) * W;
    y[k] = float(r.w0 * (c.w0 * x0[c.i0] + c.w1 * x0[c.i1]) + r.w1 * (c.w0 * x1[c.i0] + c.w1 * x1[c.i1]));
  }
}

__global__ void backward_kernel(float* dx, const float* g, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                double sh, double sw) {
  const int64_t n = planes * H * W;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t iw = k % W, ih = (k / W) % H, pl = k / (W * H);
    const float* gp = g + pl * OH * OW;
    int64_t h_lo, h_hi, w_lo, w_hi;
    reach(ih, OH, sh, h_lo, h_hi);
    reach(iw, OW, sw, w_lo, w_hi);
    double acc = 0;
    for (int64_t oh = h_lo; oh <= h_hi; ++oh) {
      const double wr = weight(oh, ih, H, sh);
      if (wr == 0.0) continue;
      double row = 0;
      for (int64_t ow = w_lo; ow <= w_hi; ++ow) {
        const double wc = weight(ow, iw, W, sw);
        if (wc != 0.0) row += wc * double(gp[oh * OW + ow]);
      }
      acc += wr * row;
    }
    dx[k] = float(acc);
  }
}

}  // namespace

void upsample_bilinear2d(const ExecContext& ctx, float* y, const float* x, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t n = planes * OH * OW;
  if (n == 0) return;
  forward_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(y, x, planes, H, W, OH, OW, double(H) / double(OH),
                                                                   double(W) / double(OW));
  SDKD_CUDA_LAUNCH_CHECK();
}

void upsample_bilinear2d_backward(const ExecContext& ctx, float* dx, const float* g, int64_t planes, int64_t H, int64_t W, int64_t OH,
                                  int64_t OW) {
  const int64_t n = planes * H * W;
  if (n == 0) return;
  backward_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(dx, g, planes, H, W, OH, OW, double(H) / double(OH),
                                                                    double(W) / double(OW));
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
