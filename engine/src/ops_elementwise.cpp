// Broadcasting binary ops and pointwise unary ops with their backward passes. The formulas
// are kernels/common/binary_ops.hpp and unary_ops.hpp, which the CUDA kernels evaluate too.
#include <cmath>

#include "elementwise.hpp"
#include "kernels/common/binary_ops.hpp"
#include "kernels/common/unary_ops.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SDKD_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
               " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int64_t lead = a.dim() - int64_t(shape.size());
  SDKD_CHECK(lead >= 0, "sum_to: cannot reduce ", a.str(), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < a.dim(); ++d)
    if (d < lead || (shape[size_t(d - lead)] == 1 && a.size(d) != 1)) dims.push_back(d);
  Tensor s = dims.empty() ? a : sum(a, dims, /*keepdim=*/true);
  return s.reshape(shape);
}

namespace {

using kern::BinaryOp;
using kern::UnaryOp;

struct BinaryBackward : Node {
  BinaryOp op;
  Tensor a, b;  // saved only for mul/div
  Shape sa, sb;
  std::vector<Tensor> backward(const Tensor& g) override {
    const bool ga = inputs[0].requires_grad(), gb = inputs[1].requires_grad();
    Tensor da, db;
    switch (op) {
      case BinaryOp::add:
        if (ga) da = sum_to(g, sa);
        if (gb) db = sum_to(g, sb);
        break;
      case BinaryOp::sub:
        if (ga) da = sum_to(g, sa);
        if (gb) db = sum_to(neg(g), sb);
        break;
      case BinaryOp::mul:
        if (ga) da = sum_to(mul(g, b), sa);
        if (gb) db = sum_to(mul(g, a), sb);
        break;
      case BinaryOp::div:
        if (ga) da = sum_to(div(g, b), sa);
        if (gb) db = sum_to(neg(div(mul(g, a), mul(b, b))), sb);
        break;
    }
    return {da, db};
  }
  const char* name() const override { return "BinaryBackward"; }
};

// The CUDA twin of binary_loop: both operands seen through their broadcast strides.
void binary_cuda(const Tensor& a, const Tensor& b, Tensor& out, [[maybe_unused]] BinaryOp op) {
  [[maybe_unused]] const char* name = "elementwise op";
  const Shape sa = detail::broadcast_strides(a, out.shape()), sb = detail::broadcast_strides(b, out.shape());
  SDKD_CUDA_ONLY(gpu::binary(detail::cuda_context(out), out.data<float>(), a.data<float>(),
                             gpu::make_view(out.shape(), sa, name), b.data<float>(),
                             gpu::make_view(out.shape(), sb, name), out.numel(), op));
}

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op) {
  const char* name = "elementwise op";
  detail::require_defined(a, name);
  detail::require_defined(b, name);
  detail::require_same_device(a, b, name);
  detail::require_same_dtype(a, b, name);
  if (detail::on_cuda(a)) detail::require_f32_on_cuda(a, name);
  Tensor out = make_tensor(broadcast_shapes(a.shape(), b.shape()), a.dtype(), a.device());
  if (detail::on_cuda(a)) {
    binary_cuda(a, b, out, op);
  } else {
    SDKD_DISPATCH(a.dtype(), T, kern::visit_binary(op, [&](auto k) {
      detail::binary_loop<T>(a, b, out, [](T x, T y) { return kern::binary_value<decltype(k)::value>(x, y); });
    }));
  }
  if (needs_grad({&a, &b})) {
    auto node = std::make_shared<BinaryBackward>();
    node->inputs = {a, b};
    node->op = op;
    node->sa = a.shape();
    node->sb = b.shape();
    if (op == BinaryOp::mul || op == BinaryOp::div) {
      node->a = a.detach();
      node->b = b.detach();
    }
    record(out, node);
  }
  return out;
}

// A pointwise op y = f(x) with dy/dx = f'(x, y): the backward computes g * f'(x, y) in one
// pass, on the CPU with f' in double rounded to the tensor's type before the multiply.
struct UnaryBackward : Node {
  Tensor x, y;
  UnaryOp op = UnaryOp::exp;
  double param = 0;
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gc = g.contiguous();
    Tensor dx = make_tensor(x.shape(), x.dtype(), x.device());
    const int64_t n = x.numel();
    if (detail::on_cuda(x)) {
      SDKD_CUDA_ONLY(gpu::unary_backward(detail::cuda_context(x), dx.data<float>(), gc.data<float>(),
                                         x.data<float>(), y.data<float>(), n, op, param));
      return {dx};
    }
    SDKD_DISPATCH(x.dtype(), T, kern::visit_unary(op, [&](auto k) {
      constexpr UnaryOp K = decltype(k)::value;
      const T* px = x.data<T>();
      const T* py = y.data<T>();
      const T* pg = gc.data<T>();
      T* pd = dx.data<T>();
      const double p = param;
_Pragma("omp parallel for simd schedule(static) if (parallel : n > 32768)")  // see unary_loop
      for (int64_t i = 0; i < n; ++i)
        pd[i] = pg[i] * T(kern::unary_slope<K, double>(double(px[i]), double(py[i]), p));
    }));
    return {dx};
  }
  const char* name() const override { return "UnaryBackward"; }
};

// y = f(x) for the op's formula; the CPU evaluates it in double for every dtype.
Tensor unary(const Tensor& a, UnaryOp op, double param = 0) {
  const char* name = "pointwise op";
  detail::require_defined(a, name);
  const Tensor x = a.contiguous();
  Tensor out = make_tensor(a.shape(), a.dtype(), a.device());
  if (detail::on_cuda(a)) {
    detail::require_f32_on_cuda(a, name);
    SDKD_CUDA_ONLY(gpu::unary(detail::cuda_context(x), out.data<float>(), x.data<float>(), x.numel(), op, param));
  } else {
    SDKD_DISPATCH(a.dtype(), T, kern::visit_unary(op, [&](auto k) {
      constexpr UnaryOp K = decltype(k)::value;
      detail::unary_loop<T>(x, out, [&](T v) { return T(kern::unary_value<K, double>(double(v), param)); });
    }));
  }
  if (needs_grad({&a})) {
    auto node = std::make_shared<UnaryBackward>();
    node->inputs = {a};
    node->x = x.detach();
    node->y = out.detach();
    node->op = op;
    node->param = param;
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::div); }
// The scalar and the zeros live on a's device (a one-element operand takes the kernel's
// scalar path on the GPU).
Tensor add_scalar(const Tensor& a, double s) { return add(a, Tensor::scalar(s, a.dtype(), a.device())); }
Tensor mul_scalar(const Tensor& a, double s) { return mul(a, Tensor::scalar(s, a.dtype(), a.device())); }
Tensor neg(const Tensor& a) { return mul_scalar(a, -1.0); }
Tensor expand(const Tensor& a, const Shape& shape) {
  return add(a, Tensor::zeros(broadcast_shapes(a.shape(), shape), a.dtype(), a.device()));
}

Tensor exp(const Tensor& a) { return unary(a, UnaryOp::exp); }
Tensor log(const Tensor& a) { return unary(a, UnaryOp::log); }
Tensor sqrt(const Tensor& a) { return unary(a, UnaryOp::sqrt); }
Tensor abs(const Tensor& a) { return unary(a, UnaryOp::abs); }
Tensor square(const Tensor& a) { return unary(a, UnaryOp::square); }
Tensor pow_scalar(const Tensor& a, double p) { return unary(a, UnaryOp::pow, p); }
Tensor tanh(const Tensor& a) { return unary(a, UnaryOp::tanh); }
Tensor sigmoid(const Tensor& a) { return unary(a, UnaryOp::sigmoid); }
Tensor relu(const Tensor& a) { return unary(a, UnaryOp::relu); }
Tensor leaky_relu(const Tensor& a, double slope) {
  SDKD_CHECK(std::isfinite(slope), "leaky_relu: the negative slope must be finite, got ", slope);
  return unary(a, UnaryOp::leaky_relu, slope);
}
Tensor silu(const Tensor& a) { return unary(a, UnaryOp::silu); }
Tensor gelu(const Tensor& a) { return unary(a, UnaryOp::gelu); }

Tensor dropout(const Tensor& a, double p, bool training, Generator& gen) {
  SDKD_CHECK(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got ", p);
  if (!training || p == 0) return a;
  if (detail::on_cuda(a)) detail::require_f32_on_cuda(a, "dropout");
  Tensor mask = make_tensor(a.shape(), a.dtype(), a.device());
  const int64_t n = a.numel();
  const uint64_t base = gen.reserve(uint64_t(n));
  const double scale = 1.0 / (1.0 - p);
  if (detail::on_cuda(a)) {
    // The same Philox numbers (stream 2) as the CPU loop below, so both devices drop the same elements.
    SDKD_CUDA_ONLY(gpu::fill_bernoulli_mask(detail::cuda_context(mask), mask.data<float>(), n, gen.seed, 2, base, p, scale));
    return mul(a, mask);
  }
  SDKD_DISPATCH(a.dtype(), T, {
    T* m = mask.data<T>();
_Pragma("omp parallel for schedule(static) if (n > 32768)")
    for (int64_t i = 0; i < n; ++i) m[i] = Philox::uniform(gen.seed, 2, base + uint64_t(i)) > p ? T(scale) : T(0);
  });
  return mul(a, mask);
}

}  // namespace sdkd
