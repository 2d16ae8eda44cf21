// Resampling ops of the decoders: pixel_shuffle and bilinear upsampling (align_corners=false).
#include <algorithm>
#include <vector>

#include "dispatch.hpp"
#include "kernels/cuda/resample.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops_nn.hpp"

namespace sdkd {

namespace {

// Where output index o of one axis reads from: two source indices and their weights.
struct Tap {
  int64_t i0, i1;
  double w0, w1;
};

// PyTorch's area_pixel_compute_source_index for linear modes with align_corners = false.
std::vector<Tap> bilinear_taps(int64_t in, int64_t out) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int64_t o = 0; o < out; ++o) {
    const double src = std::max((double(o) + 0.5) * scale - 0.5, 0.0);
    const int64_t i0 = std::min(int64_t(src), in - 1);
    const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    const double w1 = src - double(i0);
    taps[size_t(o)] = {i0, i1, 1.0 - w1, w1};
  }
  return taps;
}

struct BilinearPlan {
  int64_t planes = 0, H = 0, W = 0, OH = 0, OW = 0;
  std::vector<Tap> rows, cols;
};

// Bytes a resampling pass reads and writes (each output reads four sources).
template <class T>
double bilinear_bytes(const BilinearPlan& p) {
  return double(sizeof(T)) * double(p.planes) * double(p.H * p.W + 5 * p.OH * p.OW);
}

template <class T>
void bilinear_forward(const BilinearPlan& p, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (p.planes > 1 && cpu::threads_pay_bytes(bilinear_bytes<T>(p)))
  for (int64_t pl = 0; pl < p.planes; ++pl) {
    const T* xs = x + pl * p.H * p.W;
    T* ys = y + pl * p.OH * p.OW;
    for (int64_t oh = 0; oh < p.OH; ++oh) {
      const Tap& r = p.rows[size_t(oh)];
      const T* x0 = xs + r.i0 * p.W;
      const T* x1 = xs + r.i1 * p.W;
      for (int64_t ow = 0; ow < p.OW; ++ow) {
        const Tap& c = p.cols[size_t(ow)];
        ys[oh * p.OW + ow] = T(r.w0 * (c.w0 * x0[c.i0] + c.w1 * x0[c.i1]) + r.w1 * (c.w0 * x1[c.i0] + c.w1 * x1[c.i1]));
      }
    }
  }
}

// The adjoint: each output gradient is scattered to its four sources. One thread owns a
// plane and visits it in a fixed order, so the sums do not depend on the thread count.
template <class T>
void bilinear_backward(const BilinearPlan& p, const T* g, T* dx) {
#pragma omp parallel for schedule(static) if (p.planes > 1 && cpu::threads_pay_bytes(bilinear_bytes<T>(p)))
  for (int64_t pl = 0; pl < p.planes; ++pl) {
    T* ds = dx + pl * p.H * p.W;
    const T* gs = g + pl * p.OH * p.OW;
    std::fill(ds, ds + p.H * p.W, T(0));
    for (int64_t oh = 0; oh < p.OH; ++oh) {
      const Tap& r = p.rows[size_t(oh)];
      T* d0 = ds + r.i0 * p.W;
      T* d1 = ds + r.i1 * p.W;
      for (int64_t ow = 0; ow < p.OW; ++ow) {
        const Tap& c = p.cols[size_t(ow)];
        const double v = double(gs[oh * p.OW + ow]);
        d0[c.i0] += T(r.w0 * c.w0 * v);
        d0[c.i1] += T(r.w0 * c.w1 * v);
        d1[c.i0] += T(r.w1 * c.w0 * v);
        d1[c.i1] += T(r.w1 * c.w1 * v);
      }
    }
  }
}

struct BilinearBackward : Node {
  BilinearPlan plan;
  Shape in_shape;
  DType dtype = DType::f32;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    Tensor dx = make_tensor(in_shape, dtype, g.device());
    if (detail::on_cuda(g)) {
      // A gather over the outputs that read each input pixel: fixed order, no atomics, so it is
      // deterministic whatever sdkd::deterministic() says.
      SDKD_CUDA_ONLY(gpu::upsample_bilinear2d_backward(detail::cuda_context(dx), dx.data<float>(), g.data<float>(), plan.planes, plan.H, plan.W,
                                                       plan.OH, plan.OW));
      return {dx};
    }
    SDKD_DISPATCH(dtype, T, bilinear_backward<T>(plan, g.data<T>(), dx.data<T>()));
    return {dx};
  }
  const char* name() const override { return "UpsampleBilinear2dBackward"; }
};

}  // namespace

// A pure re-indexing, so it is composed from views: split the channels into (C, r, r),
// interleave them with the rows and columns, and merge. The views carry the backward, and the
// one copy (the final reshape of the permuted view) is the strided copy kernel on the GPU.
Tensor pixel_shuffle(const Tensor& x, int r) {
  const char* op = "pixel_shuffle";
  detail::require_defined(x, op);
  SDKD_CHECK(r >= 1, op, ": upscale factor must be >= 1, got ", r);
  SDKD_CHECK(x.dim() == 4, op, ": expected input (N, C*r*r, H, W), got ", shape_str(x.shape()));
  const int64_t N = x.size(0), Cr = x.size(1), H = x.size(2), W = x.size(3), rr = int64_t(r) * r;
  SDKD_CHECK(Cr % rr == 0, op, ": ", Cr, " channels of ", shape_str(x.shape()), " are not divisible by r*r = ", rr);
  const int64_t C = Cr / rr;
  return x.reshape({N, C, r, r, H, W}).permute({0, 1, 4, 2, 5, 3}).reshape({N, C, H * r, W * r});
}

Tensor upsample_bilinear2d(const Tensor& x_in, int64_t out_h, int64_t out_w) {
  const char* op = "upsample_bilinear2d";
  detail::require_defined(x_in, op);
  if (detail::on_cuda(x_in)) detail::require_f32_on_cuda(x_in, op);
  SDKD_CHECK(x_in.dim() == 4, op, ": expected input (N, C, H, W), got ", shape_str(x_in.shape()));
  SDKD_CHECK(out_h >= 1 && out_w >= 1, op, ": output size must be positive, got ", out_h, "x", out_w);
  SDKD_CHECK(x_in.size(2) >= 1 && x_in.size(3) >= 1, op, ": empty spatial size in ", shape_str(x_in.shape()));
  const Tensor x = x_in.contiguous();
  BilinearPlan p;
  p.planes = x.size(0) * x.size(1);
  p.H = x.size(2);
  p.W = x.size(3);
  p.OH = out_h;
  p.OW = out_w;
  Tensor y = make_tensor({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (detail::on_cuda(x)) {
    // The kernels recompute the taps per thread with the same expressions as bilinear_taps.
    SDKD_CUDA_ONLY(gpu::upsample_bilinear2d(detail::cuda_context(y), y.data<float>(), x.data<float>(), p.planes, p.H, p.W, p.OH, p.OW));
  } else {
    p.rows = bilinear_taps(p.H, out_h);
    p.cols = bilinear_taps(p.W, out_w);
    SDKD_DISPATCH(x.dtype(), T, bilinear_forward<T>(p, x.data<T>(), y.data<T>()));
  }
  if (needs_grad({&x_in})) {
    auto node = std::make_shared<BilinearBackward>();
    node->inputs = {x_in};
    node->plan = std::move(p);
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    record(y, node);
  }
  return y;
}

}  // namespace sdkd
