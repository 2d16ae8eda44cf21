// The transformer-block ops: softmax, fused multi-head attention and stochastic depth.
#include <algorithm>
#include <cmath>
#include <vector>

#include "dispatch.hpp"
#include "kernels/common/host_exp.hpp"
#include "kernels/cpu/attention.hpp"
#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/copy.hpp"
#include "kernels/cuda/softmax.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"
#include "sdkd/profiling.hpp"

namespace sdkd {

namespace {

// A tensor seen as (outer, D, inner) around the softmax dimension.
struct Lanes {
  int64_t outer = 1, D = 1, inner = 1;
};

Lanes lanes_of(const Shape& s, int64_t dim) {
  Lanes l;
  for (int64_t i = 0; i < dim; ++i) l.outer *= s[size_t(i)];
  l.D = s[size_t(dim)];
  for (size_t i = size_t(dim) + 1; i < s.size(); ++i) l.inner *= s[i];
  return l;
}

// Sums run in double so that float rows of thousands of entries stay accurate. exp is
// branch-free (host_exp.hpp) in the tensor's own precision: the result is rounded to T anyway,
// and for float rows the double polynomial set the pace (softmax ran at a fifth of STREAM).
// Contiguous rows (the last dimension) take three passes over one row, in cache; otherwise the
// `inner` lanes of an outer index are processed together, each pass a contiguous loop over them.
inline float softmax_exp(float x) { return kern::host_expf(x); }
inline double softmax_exp(double x) { return kern::host_exp(x); }

// The largest entry of a row, in independent lanes so the loop vectorises (a reduction over
// std::max did not: GCC keeps its NaN order and runs it scalar).
template <class T>
T row_max(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T lane[kLanes];
  for (T& m : lane) m = x[0];
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
  T mx = lane[0];
  for (int l = 1; l < kLanes; ++l) mx = lane[l] > mx ? lane[l] : mx;
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

template <class T>
void softmax_forward(const T* x, T* y, const Lanes& l) {
  const int64_t D = l.D, inner = l.inner;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (l.outer * D > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(l.outer * D * inner)))
    for (int64_t row = 0; row < l.outer; ++row) {
      const T* xs = x + row * D;
      T* ys = y + row * D;
      const T mx = row_max(xs, D);
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < D; ++j) {
        const T e = softmax_exp(xs[j] - mx);
        ys[j] = e;
        sum += double(e);
      }
      const T inv = T(1.0 / sum);
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) ys[j] *= inv;
    }
    return;
  }
#pragma omp parallel for schedule(static) if (l.outer * D * inner > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(l.outer * D * inner)))
  for (int64_t o = 0; o < l.outer; ++o) {
    const T* xs = x + o * D * inner;
    T* ys = y + o * D * inner;
    std::vector<T> mx(xs, xs + inner);
    std::vector<double> sum(size_t(inner), 0.0);
    for (int64_t j = 1; j < D; ++j) {
      const T* xj = xs + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) mx[size_t(i)] = std::max(mx[size_t(i)], xj[i]);
    }
    for (int64_t j = 0; j < D; ++j) {
      const T* xj = xs + j * inner;
      T* yj = ys + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) {
        const T e = softmax_exp(xj[i] - mx[size_t(i)]);
        yj[i] = e;
        sum[size_t(i)] += double(e);
      }
    }
    for (int64_t i = 0; i < inner; ++i) mx[size_t(i)] = T(1.0 / sum[size_t(i)]);  // now 1 / sum
    for (int64_t j = 0; j < D; ++j) {
      T* yj = ys + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yj[i] *= mx[size_t(i)];
    }
  }
}

// dx = y * (g - sum(g * y)) along the softmax dimension.
template <class T>
void softmax_backward(const T* y, const T* g, T* dx, const Lanes& l) {
  const int64_t D = l.D, inner = l.inner;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (l.outer * D > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(l.outer * D * inner)))
    for (int64_t row = 0; row < l.outer; ++row) {
      const T* ys = y + row * D;
      const T* gs = g + row * D;
      T* ds = dx + row * D;
      double dotp = 0;
#pragma omp simd reduction(+ : dotp)
      for (int64_t j = 0; j < D; ++j) dotp += double(gs[j]) * double(ys[j]);
      const T s = T(dotp);
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) ds[j] = ys[j] * (gs[j] - s);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (l.outer * D * inner > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(l.outer * D * inner)))
  for (int64_t o = 0; o < l.outer; ++o) {
    const int64_t base = o * D * inner;
    std::vector<double> dotp(size_t(inner), 0.0);
    for (int64_t j = 0; j < D; ++j) {
      const int64_t at = base + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) dotp[size_t(i)] += double(g[at + i]) * double(y[at + i]);
    }
    for (int64_t j = 0; j < D; ++j) {
      const int64_t at = base + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) dx[at + i] = y[at + i] * (g[at + i] - T(dotp[size_t(i)]));
    }
  }
}

struct SoftmaxBackward : Node {
  Tensor y;  // the output, detached (holding it attached would make a reference cycle)
  Lanes lanes;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    Tensor dx = make_tensor(y.shape(), y.dtype(), y.device());
    if (detail::on_cuda(y)) {
      detail::require_same_device(y, g, name());
      detail::require_f32_on_cuda(g, name());
      SDKD_CUDA_ONLY(gpu::softmax_backward(detail::cuda_context(y), y.data<float>(), g.data<float>(), dx.data<float>(), lanes.outer, lanes.D,
                                           lanes.inner));
      return {dx};
    }
    SDKD_DISPATCH(y.dtype(), T, softmax_backward<T>(y.data<T>(), g.data<T>(), dx.data<T>(), lanes));
    return {dx};
  }
  const char* name() const override { return "SoftmaxBackward"; }
};

struct AttentionBackward : Node {
  kern::AttentionShape shape;
  Tensor q, k, v, o, lse;  // contiguous, detached
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    const Device dev = q.device();
    Tensor dq = make_tensor(q.shape(), q.dtype(), dev), dk = make_tensor(k.shape(), k.dtype(), dev),
           dv = make_tensor(v.shape(), v.dtype(), dev);
    if (detail::on_cuda(q)) {
      detail::require_same_device(q, g, "multi_head_attention backward");
      detail::require_f32_on_cuda(g, "multi_head_attention backward");
      // Deterministic mode (in the context) avoids the dQ atomics.
      SDKD_CUDA_ONLY(gpu::attention_backward(detail::cuda_context(q), shape, q.data<float>(), k.data<float>(),
                                             v.data<float>(), o.data<float>(), lse.data<float>(), g.data<float>(),
                                             dq.data<float>(), dk.data<float>(), dv.data<float>()));
      return {dq, dk, dv};
    }
    SDKD_DISPATCH(q.dtype(), T,
                  cpu::attention_backward<T>(shape, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(), lse.data<T>(),
                                             g.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>()));
    return {dq, dk, dv};
  }
  const char* name() const override { return "AttentionBackward"; }
};

}  // namespace

Tensor softmax(const Tensor& x_in, int64_t dim) {
  const char* op = "softmax";
  detail::require_defined(x_in, op);
  if (detail::on_cuda(x_in)) detail::require_f32_on_cuda(x_in, op);
  SDKD_CHECK(x_in.dim() >= 1, op, ": expected at least a 1-d tensor, got ", x_in.str());
  const int64_t d = detail::wrap_dim(dim, x_in.dim(), op);
  const Tensor x = x_in.contiguous();
  const Lanes lanes = lanes_of(x.shape(), d);
  Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
  if (lanes.D > 0) {
    if (detail::on_cuda(x))  // one warp (or block, for long lanes) per softmax vector
      SDKD_CUDA_ONLY(gpu::softmax_forward(detail::cuda_context(x), x.data<float>(), y.data<float>(), lanes.outer, lanes.D, lanes.inner));
    else
      SDKD_DISPATCH(x.dtype(), T, softmax_forward<T>(x.data<T>(), y.data<T>(), lanes));
  }
  if (needs_grad({&x_in})) {
    auto node = std::make_shared<SoftmaxBackward>();
    node->inputs = {x_in};
    node->y = y.detach();
    node->lanes = lanes;
    record(y, node);
  }
  return y;
}

Tensor multi_head_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in) {
  const char* op = "multi_head_attention";
  for (const Tensor* t : {&q_in, &k_in, &v_in}) detail::require_defined(*t, op);
  detail::require_same_device(q_in, k_in, op);
  detail::require_same_device(q_in, v_in, op);
  const bool cuda = detail::on_cuda(q_in);
  detail::require_same_dtype(q_in, k_in, op);
  detail::require_same_dtype(q_in, v_in, op);
  if (cuda) detail::require_f32_on_cuda(q_in, op);
  SDKD_CHECK(q_in.dim() == 4 && k_in.dim() == 4 && v_in.dim() == 4, op,
             ": expected q (B, heads, N, d), k and v (B, heads, M, d), got q ", shape_str(q_in.shape()), ", k ",
             shape_str(k_in.shape()), ", v ", shape_str(v_in.shape()));
  SDKD_CHECK(k_in.shape() == v_in.shape(), op, ": k and v must have the same shape, got k ", shape_str(k_in.shape()),
             ", v ", shape_str(v_in.shape()));
  SDKD_CHECK(q_in.size(0) == k_in.size(0) && q_in.size(1) == k_in.size(1) && q_in.size(3) == k_in.size(3), op,
             ": q ", shape_str(q_in.shape()), " and k ", shape_str(k_in.shape()),
             " must agree in batch, heads and head dimension");
  kern::AttentionShape s;
  s.BH = q_in.size(0) * q_in.size(1);
  s.N = q_in.size(2);
  s.M = k_in.size(2);
  s.d = q_in.size(3);
  SDKD_CHECK(s.N >= 1 && s.M >= 1 && s.d >= 1, op, ": empty sequence or head dimension, q ",
             shape_str(q_in.shape()), ", k ", shape_str(k_in.shape()));
  if (cuda)
    SDKD_CHECK(s.d <= gpu::kAttentionMaxHeadDim, op, ": the CUDA kernel takes head dimensions up to ",
               gpu::kAttentionMaxHeadDim, ", got q ", shape_str(q_in.shape()),
               " (use more heads, or run this op on the CPU)");
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor o = make_tensor(q.shape(), q.dtype(), q.device());
  Tensor lse = make_tensor({q.size(0), q.size(1), s.N}, q.dtype(), q.device());
  // Two products of N x M x d multiply-adds per (batch, head): Q K^T and P V.
  FlopCounter::add(2 * 2 * s.BH * s.N * s.M * s.d);
  if (cuda) {
    SDKD_CUDA_ONLY(gpu::attention_forward(detail::cuda_context(q), s, q.data<float>(), k.data<float>(), v.data<float>(),
                                          o.data<float>(), lse.data<float>()));
  } else {
    SDKD_DISPATCH(q.dtype(), T,
                  cpu::attention_forward<T>(s, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(), lse.data<T>()));
  }
  if (needs_grad({&q_in, &k_in, &v_in})) {
    auto node = std::make_shared<AttentionBackward>();
    node->inputs = {q_in, k_in, v_in};
    node->shape = s;
    node->q = q.detach();
    node->k = k.detach();
    node->v = v.detach();
    node->o = o.detach();
    node->lse = lse;
    record(o, node);
  }
  return o;
}

namespace {

// y = x scaled per sample: y[b, ...] = x[b, ...] * scale[b] (x, y contiguous, `per` values per
// sample), on x's backend. drop_path's forward and its backward are both this.
void scale_samples(const Tensor& x, const Tensor& scale, Tensor& y) {
  const int64_t n = scale.numel(), per = n > 0 ? x.numel() / n : 0;
  if (detail::on_cuda(x)) {
    SDKD_CUDA_ONLY(gpu::scale_samples(detail::cuda_context(x), x.data<float>(), scale.data<float>(), y.data<float>(),
                                      n, per));
    return;
  }
  SDKD_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    const T* ps = scale.data<T>();
    T* py = y.data<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < per; ++i) py[b * per + i] = px[b * per + i] * ps[b];
  });
}

// The gradient is the incoming one scaled by the same per-sample mask, on every device.
struct DropPathBackward : Node {
  Tensor mask;  // (N) on x's device: 0 or 1 / (1 - p) per sample
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    detail::require_same_device(mask, g, name());
    if (detail::on_cuda(g)) detail::require_f32_on_cuda(g, name());
    Tensor dx = make_tensor(g.shape(), g.dtype(), g.device());
    scale_samples(g, mask, dx);
    return {dx};
  }
  const char* name() const override { return "DropPathBackward"; }
};

}  // namespace

Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen) {
  const char* op = "drop_path";
  detail::require_defined(x, op);
  if (detail::on_cuda(x)) detail::require_f32_on_cuda(x, op);
  SDKD_CHECK(p >= 0 && p < 1, op, ": probability must be in [0, 1), got ", p);
  SDKD_CHECK(x.dim() >= 1, op, ": expected (N, ...) input, got ", x.str());
  if (!training || p == 0) return x;
  const int64_t n = x.size(0);
  const Tensor xc = x.contiguous();
  Tensor mask = make_tensor({n}, x.dtype(), x.device());
  Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
  // One Philox draw per sample (stream 3 at the reserved offsets): the same mask on every device.
  const uint64_t base = gen.reserve(uint64_t(n));
  const double scale = 1.0 / (1.0 - p);
  if (detail::on_cuda(x)) {
    SDKD_CUDA_ONLY(gpu::fill_bernoulli_mask(detail::cuda_context(mask), mask.data<float>(), n, gen.seed, 3, base, p,
                                            scale));
  } else {
    SDKD_DISPATCH(x.dtype(), T, {
      T* m = mask.data<T>();
      for (int64_t b = 0; b < n; ++b) m[b] = Philox::uniform(gen.seed, 3, base + uint64_t(b)) > p ? T(scale) : T(0);
    });
  }
  scale_samples(xc, mask, y);
  if (needs_grad({&x})) {
    auto node = std::make_shared<DropPathBackward>();
    node->inputs = {x};
    node->mask = mask;
    record(y, node);
  }
  return y;
}

}  // namespace sdkd
