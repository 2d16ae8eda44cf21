// Broadcasting binary ops and pointwise unary ops with their backward passes.
#include <cmath>
#include <functional>

#include "elementwise.hpp"
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

Tensor binary(const Tensor& a, const Tensor& b, BinOp op) {
  detail::require_cpu(a, "elementwise op");
  detail::require_cpu(b, "elementwise op");
  detail::require_same_dtype(a, b, "elementwise op");
  Tensor out = make_tensor(broadcast_shapes(a.shape(), b.shape()), a.dtype());
  SDKD_DISPATCH(a.dtype(), T, {
    switch (op) {
      case BinOp::add: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x + y; }); break;
      case BinOp::sub: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x - y; }); break;
      case BinOp::mul: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x * y; }); break;
      case BinOp::div: detail::binary_loop<T>(a, b, out, [](T x, T y) { return x / y; }); break;
    }
  });
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
struct UnaryBackward : Node {
  Tensor x, y;
  std::function<double(double, double)> df;
  std::vector<Tensor> backward(const Tensor& g) override {
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

template <class F, class DF>
Tensor unary(const Tensor& a, F f, DF df) {
  detail::require_cpu(a, "pointwise op");
  const Tensor x = a.contiguous();
  Tensor out = make_tensor(a.shape(), a.dtype());
  SDKD_DISPATCH(a.dtype(), T, detail::unary_loop<T>(x, out, [&](T v) { return T(f(double(v))); }));
  if (needs_grad({&a})) {
    auto node = std::make_shared<UnaryBackward>();
    node->inputs = {a};
    node->x = x.detach();
    node->y = out.detach();
    node->df = df;
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::div); }
Tensor add_scalar(const Tensor& a, double s) { return add(a, Tensor::scalar(s, a.dtype())); }
Tensor mul_scalar(const Tensor& a, double s) { return mul(a, Tensor::scalar(s, a.dtype())); }
Tensor neg(const Tensor& a) { return mul_scalar(a, -1.0); }
Tensor expand(const Tensor& a, const Shape& shape) {
  return add(a, Tensor::zeros(broadcast_shapes(a.shape(), shape), a.dtype()));
}

Tensor exp(const Tensor& a) {
  return unary(a, [](double x) { return std::exp(x); }, [](double, double y) { return y; });
}
Tensor log(const Tensor& a) {
  return unary(a, [](double x) { return std::log(x); }, [](double x, double) { return 1.0 / x; });
}
Tensor sqrt(const Tensor& a) {
  return unary(a, [](double x) { return std::sqrt(x); }, [](double, double y) { return 0.5 / y; });
}
Tensor abs(const Tensor& a) {
  return unary(a, [](double x) { return std::fabs(x); },
               [](double x, double) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); });
}
Tensor square(const Tensor& a) {
  return unary(a, [](double x) { return x * x; }, [](double x, double) { return 2 * x; });
}
Tensor pow_scalar(const Tensor& a, double p) {
  return unary(a, [p](double x) { return std::pow(x, p); },
               [p](double x, double) { return p * std::pow(x, p - 1); });
}
Tensor tanh(const Tensor& a) {
  return unary(a, [](double x) { return std::tanh(x); }, [](double, double y) { return 1 - y * y; });
}
Tensor sigmoid(const Tensor& a) {
  return unary(a, [](double x) { return 1 / (1 + std::exp(-x)); }, [](double, double y) { return y * (1 - y); });
}
Tensor relu(const Tensor& a) {
  return unary(a, [](double x) { return x > 0 ? x : 0.0; }, [](double x, double) { return x > 0 ? 1.0 : 0.0; });
}
Tensor leaky_relu(const Tensor& a, double slope) {
  return unary(a, [slope](double x) { return x > 0 ? x : slope * x; },
               [slope](double x, double) { return x > 0 ? 1.0 : slope; });
}
Tensor silu(const Tensor& a) {
  return unary(a, [](double x) { return x / (1 + std::exp(-x)); },
               [](double x, double) {
                 const double s = 1 / (1 + std::exp(-x));
                 return s * (1 + x * (1 - s));
               });
}
Tensor gelu(const Tensor& a) {
  constexpr double kInvSqrt2 = 0.7071067811865476, kInvSqrt2Pi = 0.3989422804014327;
  return unary(a, [](double x) { return 0.5 * x * (1 + std::erf(x * kInvSqrt2)); },
               [](double x, double) {
                 return 0.5 * (1 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
               });
}

Tensor dropout(const Tensor& a, double p, bool training, Generator& gen) {
  SDKD_CHECK(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got ", p);
  if (!training || p == 0) return a;
  Tensor mask = make_tensor(a.shape(), a.dtype());
  const int64_t n = a.numel();
  const uint64_t base = gen.reserve(uint64_t(n));
  const double scale = 1.0 / (1.0 - p);
  SDKD_DISPATCH(a.dtype(), T, {
    T* m = mask.data<T>();
_Pragma("omp parallel for schedule(static) if (n > 32768)")
    for (int64_t i = 0; i < n; ++i) m[i] = Philox::uniform(gen.seed, 2, base + uint64_t(i)) > p ? T(scale) : T(0);
  });
  return mul(a, mask);
}

}  // namespace sdkd
