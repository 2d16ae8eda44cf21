// Broadcasting binary ops and pointwise unary ops with their backward passes.
#include <cmath>
#include <functional>

#include "elementwise.hpp"
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

enum class BinOp { add, sub, mul, div };

struct BinaryBackward : Node {
  BinOp op;
  Tensor a, b;  // saved only for mul/div
  Shape sa, sb;
  std::vector<Tensor> backward(const Tensor& g) override {
    const bool ga = inputs[0].requires_grad(), gb = inputs[1].requires_grad();
    Tensor da, db;
    switch (op) {
      case BinOp::add:
        if (ga) da = sum_to(g, sa);
        if (gb) db = sum_to(g, sb);
        break;
      case BinOp::sub:
        if (ga) da = sum_to(g, sa);
        if (gb) db = sum_to(neg(g), sb);
        break;
      case BinOp::mul:
        if (ga) da = sum_to(mul(g, b), sa);
        if (gb) db = sum_to(mul(g, a), sb);
        break;
      case BinOp::div:
        if (ga) da = sum_to(div(g, b), sa);
        if (gb) db = sum_to(neg(div(mul(g, a), mul(b, b))), sb);
        break;
    }
    return {da, db};
  }
  const char* name() const override { return "BinaryBackward"; }
};

[[maybe_unused]] gpu::BinaryOp gpu_op(BinOp op) {
  switch (op) {
    case BinOp::add: return gpu::BinaryOp::add;
    case BinOp::sub: return gpu::BinaryOp::sub;
    case BinOp::mul: return gpu::BinaryOp::mul;
    case BinOp::div: break;
  }
  return gpu::BinaryOp::div;
}

// The CUDA twin of binary_loop: both operands seen through their broadcast strides.
void binary_cuda(const Tensor& a, const Tensor& b, Tensor& out, [[maybe_unused]] BinOp op) {
  [[maybe_unused]] const char* name = "elementwise op";
  const Shape sa = detail::broadcast_strides(a, out.shape()), sb = detail::broadcast_strides(b, out.shape());
  SDKD_CUDA_ONLY(gpu::binary(out.data<float>(), a.data<float>(), gpu::make_view(out.shape(), sa, name),
                             b.data<float>(), gpu::make_view(out.shape(), sb, name), out.numel(), gpu_op(op)));
}

Tensor binary(const Tensor& a, const Tensor& b, BinOp op) {
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
    SDKD_DISPATCH(a.dtype(), T, {
      switch (op) {
        case BinOp::add: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x + y; }); break;
        case BinOp::sub: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x - y; }); break;
        case BinOp::mul: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x * y; }); break;
        case BinOp::div: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x / y; }); break;
      }
    });
  }
  if (needs_grad({&a, &b})) {
    auto node = std::make_shared<BinaryBackward>();
    node->inputs = {a, b};
    node->op = op;
    node->sa = a.shape();
    node->sb = b.shape();
    if (op == BinOp::mul || op == BinOp::div) {
      node->a = a.detach();
      node->b = b.detach();
    }
    record(out, node);
  }
  return out;
}

// A pointwise op y = f(x) with dy/dx = df(x, y): the backward multiplies the gradient by it.
// On the GPU one fused kernel computes g * df(x, y) (gop, param name the derivative there).
struct UnaryBackward : Node {
  Tensor x, y;
  std::function<double(double, double)> df;
  gpu::UnaryOp gop = gpu::UnaryOp::exp;
  double param = 0;
  std::vector<Tensor> backward(const Tensor& g) override {
    if (detail::on_cuda(x)) {
      const Tensor gc = g.contiguous();
      Tensor dx = make_tensor(x.shape(), x.dtype(), x.device());
      SDKD_CUDA_ONLY(gpu::unary_backward(dx.data<float>(), gc.data<float>(), x.data<float>(), y.data<float>(),
                                         x.numel(), gop, param));
      return {dx};
    }
    Tensor d = make_tensor(x.shape(), x.dtype());
    SDKD_DISPATCH(x.dtype(), T, {
      const T* px = x.data<T>();
      const T* py = y.data<T>();
      T* pd = d.data<T>();
      const int64_t n = x.numel();
      for (int64_t i = 0; i < n; ++i) pd[i] = T(df(double(px[i]), double(py[i])));
    });
    return {mul(g, d)};
  }
  const char* name() const override { return "UnaryBackward"; }
};

// f and df are the CPU twin (in double); gop and param select the same function on the GPU.
template <class F, class DF>
Tensor unary(const Tensor& a, F f, DF df, gpu::UnaryOp gop, double param = 0) {
  const char* name = "pointwise op";
  detail::require_defined(a, name);
  const Tensor x = a.contiguous();
  Tensor out = make_tensor(a.shape(), a.dtype(), a.device());
  if (detail::on_cuda(a)) {
    detail::require_f32_on_cuda(a, name);
    SDKD_CUDA_ONLY(gpu::unary(out.data<float>(), x.data<float>(), x.numel(), gop, param));
  } else {
    SDKD_DISPATCH(a.dtype(), T, detail::unary_loop<T>(x, out, [&](T v) { return T(f(double(v))); }));
  }
  if (needs_grad({&a})) {
    auto node = std::make_shared<UnaryBackward>();
    node->inputs = {a};
    node->x = x.detach();
    node->y = out.detach();
    node->df = df;
    node->gop = gop;
    node->param = param;
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::div); }
// The scalar and the zeros live on a's device (a one-element operand takes the kernel's
// scalar path on the GPU).
Tensor add_scalar(const Tensor& a, double s) { return add(a, Tensor::scalar(s, a.dtype(), a.device())); }
Tensor mul_scalar(const Tensor& a, double s) { return mul(a, Tensor::scalar(s, a.dtype(), a.device())); }
Tensor neg(const Tensor& a) { return mul_scalar(a, -1.0); }
Tensor expand(const Tensor& a, const Shape& shape) {
  return add(a, Tensor::zeros(broadcast_shapes(a.shape(), shape), a.dtype(), a.device()));
}

Tensor exp(const Tensor& a) {
  return unary(a, [](double x) { return std::exp(x); }, [](double, double y) { return y; }, gpu::UnaryOp::exp);
}
Tensor log(const Tensor& a) {
  return unary(a, [](double x) { return std::log(x); }, [](double x, double) { return 1.0 / x; },
               gpu::UnaryOp::log);
}
Tensor sqrt(const Tensor& a) {
  return unary(a, [](double x) { return std::sqrt(x); }, [](double, double y) { return 0.5 / y; },
               gpu::UnaryOp::sqrt);
}
Tensor abs(const Tensor& a) {
  return unary(a, [](double x) { return std::fabs(x); },
               [](double x, double) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }, gpu::UnaryOp::abs);
}
Tensor square(const Tensor& a) {
  return unary(a, [](double x) { return x * x; }, [](double x, double) { return 2 * x; },
               gpu::UnaryOp::square);
}
Tensor pow_scalar(const Tensor& a, double p) {
  return unary(a, [p](double x) { return std::pow(x, p); },
               [p](double x, double) { return p * std::pow(x, p - 1); },
               gpu::UnaryOp::pow, p);
}
Tensor tanh(const Tensor& a) {
  return unary(a, [](double x) { return std::tanh(x); }, [](double, double y) { return 1 - y * y; },
               gpu::UnaryOp::tanh);
}
Tensor sigmoid(const Tensor& a) {
  return unary(a, [](double x) { return 1 / (1 + std::exp(-x)); }, [](double, double y) { return y * (1 - y); },
               gpu::UnaryOp::sigmoid);
}
Tensor relu(const Tensor& a) {
  return unary(a, [](double x) { return x > 0 ? x : 0.0; }, [](double x, double) { return x > 0 ? 1.0 : 0.0; },
               gpu::UnaryOp::relu);
}
Tensor leaky_relu(const Tensor& a, double slope) {
  return unary(a, [slope](double x) { return x > 0 ? x : slope * x; },
               [slope](double x, double) { return x > 0 ? 1.0 : slope; },
               gpu::UnaryOp::leaky_relu, slope);
}
Tensor silu(const Tensor& a) {
  return unary(a, [](double x) { return x / (1 + std::exp(-x)); },
               [](double x, double) {
                 const double s = 1 / (1 + std::exp(-x));
                 return s * (1 + x * (1 - s));
               }, gpu::UnaryOp::silu);
}
Tensor gelu(const Tensor& a) {
  constexpr double kInvSqrt2 = 0.7071067811865476, kInvSqrt2Pi = 0.3989422804014327;
  return unary(a, [](double x) { return 0.5 * x * (1 + std::erf(x * kInvSqrt2)); },
               [](double x, double) {
                 return 0.5 * (1 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
               }, gpu::UnaryOp::gelu);
}

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
    SDKD_CUDA_ONLY(gpu::fill_bernoulli_mask(mask.data<float>(), n, gen.seed, 2, base, p, scale));
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
