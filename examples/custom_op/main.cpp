// Example (c): an op of your own, with its forward and backward, trained through.
//
//   sdkd_example_custom_op
//
// smooth_abs(x) = sqrt(x^2 + eps), written as a raw loop over the tensor's data with a
// hand-written backward (dy * x / y) recorded as an autograd Node. The program checks the
// backward against central finite differences in float64, then fits y = |3x - 1| with a
// Linear layer followed by smooth_abs. Exits non-zero if either check fails.
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <sdkd/sdkd.hpp>

using namespace sdkd;

namespace {

constexpr double kEps = 1e-4;

// y = sqrt(x^2 + eps) elementwise, CPU tensors of float32 or float64.
template <class T>
Tensor smooth_abs_values(const Tensor& x) {
  const Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const T* in = xc.data<T>();
  T* out = y.data<T>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = T(std::sqrt(double(in[i]) * double(in[i]) + kEps));
  return y;
}

// What the backward needs: the input and the output (dy/dx = x / y).
struct SmoothAbsBackward : Node {
  Tensor y;
  std::vector<Tensor> backward(const Tensor& grad_out) override {
    return {mul(grad_out, div(inputs[0].detach(), y))};  // engine ops: any device, differentiable
  }
  const char* name() const override { return "SmoothAbsBackward"; }
};

Tensor smooth_abs(const Tensor& x) {
  SDKD_CHECK(x.device().is_cpu(), "smooth_abs: a CPU tensor expected (this example's loop is host code)");
  Tensor y = x.dtype() == DType::f64 ? smooth_abs_values<double>(x) : smooth_abs_values<float>(x);
  if (!needs_grad({&x})) return y;
  auto node = std::make_shared<SmoothAbsBackward>();
  node->inputs = {x};
  node->y = y.detach();
  return record(y, node);
}

// The gradient of sum(w * smooth_abs(x)) by autograd against central differences, float64.
bool backward_matches_finite_differences() {
  Generator g(3);
  Tensor x = Tensor::randn({5, 7}, g, DType::f64);
  const Tensor w = Tensor::randn({5, 7}, g, DType::f64);
  x.set_requires_grad(true);
  sum(mul(w, smooth_abs(x))).backward();
  const auto grad = x.grad().to_double_vector();
  auto xv = x.to_double_vector();
  const auto wv = w.to_double_vector();
  double worst = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const double h = 1e-6, x0 = xv[i];
    auto f = [&](double xi) { return wv[i] * std::sqrt(xi * xi + kEps); };  // only element i changes
    const double fd = (f(x0 + h) - f(x0 - h)) / (2 * h);
    worst = std::max(worst, std::fabs(fd - grad[i]) / std::max(1.0, std::fabs(fd)));
  }
  std::printf("backward vs finite differences: worst relative error %.2e\n", worst);
  return worst < 1e-7;
}

}  // namespace

int main() try {
  const bool grad_ok = backward_matches_finite_differences();

  Generator gen(42);
  nn::Linear layer(1, 1, gen);
  optim::Adam opt(layer.named_parameters(), {.lr = 0.02});
  const Tensor x = Tensor::randn({256, 1}, gen);
  const Tensor y = smooth_abs(add_scalar(mul_scalar(x, 3.0), -1.0));
  double loss_value = 0;
  for (int step = 0; step < 1500; ++step) {
    Tensor loss = mse_loss(smooth_abs(layer.forward(x)), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  // |3x - 1| = |-3x + 1|: either sign of the fit is right.
  const double w = layer.weight.item(), b = layer.bias.item(), s = w < 0 ? -1 : 1;
  std::printf("fitted |%.4f x %+.4f| (loss %.2e)\n", w, b, loss_value);
  const bool fit_ok = std::fabs(s * w - 3) < 2e-2 && std::fabs(s * b + 1) < 2e-2;
  return grad_ok && fit_ok ? 0 : 1;
} catch (const sdkd::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
