// all_reduce_sum and sync_batch_norm2d (sdkd/collective.hpp): composed of the engine's own
// differentiable ops around one recorded node, the all-reduce, so the float64 finite-difference
// checks of the composite cover the backward that a multi-process run executes.
#include "sdkd/collective.hpp"

#include <cmath>
#include <initializer_list>

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

// The gradient of y = sum_r x_r for member r is sum_r' dL_r'/dy: an all-reduce of the upstream
// gradient. The group must outlive the graph (it is held by pointer, as the graph is short-lived).
struct AllReduceBackward : Node {
  Collective* group;
  explicit AllReduceBackward(Collective* g) : group(g) {}
  std::vector<Tensor> backward(const Tensor& grad_out) override {
    Tensor g = grad_out.contiguous().clone();
    group->all_reduce_sum(g);
    return {g};
  }
  const char* name() const override { return "AllReduceBackward"; }
};

}  // namespace

Tensor all_reduce_sum(const Tensor& x, Collective& group) {
  SDKD_CHECK(x.defined(), "all_reduce_sum: undefined input");
  Tensor y = x.detach().contiguous().clone();
  group.all_reduce_sum(y);
  if (!needs_grad({&x})) return y;
  auto node = std::make_shared<AllReduceBackward>(&group);
  node->inputs = {x};
  return record(y, node);
}

Tensor sync_batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, Collective& group, double momentum, double eps) {
  const char* op = "sync_batch_norm2d";
  SDKD_CHECK(x.defined() && x.dim() == 4, op, ": expected x (N, C, H, W), got ", x.defined() ? x.str() : "undefined");
  SDKD_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": expected float32 or float64, got ", x.str());
  SDKD_CHECK(std::isfinite(eps) && eps >= 0, op, ": eps must be finite and >= 0, got ", eps);
  const int64_t C = x.size(1);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &running_mean, &running_var})
    SDKD_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == C), op, ": per-channel tensors must have shape [",
               C, "], got ", t->str());
  const Shape per_channel{1, C, 1, 1};
  // The global count, then the two passes: sum -> mean, centred squares -> variance, in double.
  Tensor count = Tensor::scalar(double(x.size(0) * x.size(2) * x.size(3)), DType::f64, x.device());
  group.all_reduce_sum(count);
  const double n = count.item();
  SDKD_CHECK(n > 1, op, ": training mode needs more than one value per channel over the group, got ", n);
  const Tensor x64 = x.to(DType::f64);
  const Tensor mean = mul_scalar(all_reduce_sum(sum(x64, {0, 2, 3}), group), 1.0 / n);
  const Tensor centred = sub(x64, mean.reshape(per_channel));
  const Tensor var = mul_scalar(all_reduce_sum(sum(square(centred), {0, 2, 3}), group), 1.0 / n);
  const Tensor invstd = pow_scalar(add_scalar(var, eps), -0.5);
  Tensor y = mul(centred, invstd.reshape(per_channel)).to(x.dtype());
  if (gamma.defined()) y = mul(y, gamma.reshape(per_channel));
  if (beta.defined()) y = add(y, beta.reshape(per_channel));
  if (running_mean.defined() || running_var.defined()) {
    NoGradGuard ng;
    if (running_mean.defined())
      running_mean.copy_(add(mul_scalar(running_mean.to(DType::f64), 1.0 - momentum), mul_scalar(mean.detach(), momentum)));
    if (running_var.defined())
      running_var.copy_(add(mul_scalar(running_var.to(DType::f64), 1.0 - momentum),
                            mul_scalar(var.detach(), momentum * n / (n - 1.0))));
  }
  return y;
}

}  // namespace sdkd
