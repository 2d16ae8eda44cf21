// BatchNorm2d, GroupNorm and LayerNorm as autograd ops: one forward path and one backward node
// for every device and norm kind, over the backends' two entry points (cpu::norm_forward /
// norm_backward and their float32 CUDA twins), which take the same NormShape and buffers
// (kernels/common/norm_shape.hpp) and overwrite their outputs.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <type_traits>

#include "dispatch.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cuda/norm.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void check_affine(const Tensor& p, int64_t C, const char* what, const char* op) {
  if (!p.defined()) return;
  SDKD_CHECK(p.dim() == 1 && p.size(0) == C, op, ": ", what, " must have shape [", C, "], got ", shape_str(p.shape()));
}

using kern::NormKind;
using kern::NormShape;

// Every tensor argument must live on x's device; on CUDA they must all be float32 too.
void check_devices(const Tensor& x, std::initializer_list<const Tensor*> others, const char* op) {
  for (const Tensor* t : others) detail::require_same_device(x, *t, op);
  if (!detail::on_cuda(x)) return;
  detail::require_f32_on_cuda(x, op);
  for (const Tensor* t : others)
    if (t->defined()) detail::require_f32_on_cuda(*t, op);
}

// The running buffers are read and updated in place through their data pointers.
void check_buffer(const Tensor& b, const char* what, const char* op) {
  if (!b.defined()) return;
  SDKD_CHECK(b.is_contiguous(), op, ": ", what, " must be contiguous (it is updated in place), got ", b.str());
}

template <class T>
T* mut_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The backend of x's device: both take the same shape and buffers. On CUDA everything is
// float32 (check_devices), so only the float instance can reach the CUDA kernels.
template <class T>
void forward_on(const Tensor& x, const NormShape& s, const kern::NormForwardArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (detail::on_cuda(x)) return SDKD_CUDA_ONLY(gpu::norm_forward(detail::cuda_context(x), s, a));
  cpu::norm_forward<T>(s, a);
}

template <class T>
void backward_on(const Tensor& x, const NormShape& s, const kern::NormBackwardArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (detail::on_cuda(x)) return SDKD_CUDA_ONLY(gpu::norm_backward(detail::cuda_context(x), s, a));
  cpu::norm_backward<T>(s, a);
}

void run_forward(const NormShape& s, const Tensor& x, const Tensor& g, const Tensor& b, Tensor& y, Tensor& mean,
                 Tensor& invstd, Tensor& running_mean, Tensor& running_var) {
  SDKD_DISPATCH(x.dtype(), T, {
    kern::NormForwardArgs<T> a;
    a.x = x.data<T>();
    a.gamma = ptr_or_null<T>(g);
    a.beta = ptr_or_null<T>(b);
    a.y = y.data<T>();
    a.mean = mut_or_null<double>(mean);
    a.invstd = mut_or_null<double>(invstd);
    a.running_mean = mut_or_null<T>(running_mean);
    a.running_var = mut_or_null<T>(running_var);
    forward_on<T>(x, s, a);
  });
}

// Saves x, the affine weight and the per-group statistics (float64 on every device and for
// every dtype, as the forward computed them). One node for every device and norm kind: the
// backend's norm_backward overwrites fresh dx / dgamma / dbeta buffers.
struct NormBackward : Node {
  NormShape shape;
  Tensor x, gamma, mean, invstd;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    detail::require_same_device(x, g, name());
    if (detail::on_cuda(x)) detail::require_f32_on_cuda(g, name());
    const bool need_x = inputs[0].requires_grad();
    const bool need_w = inputs[1].defined() && inputs[1].requires_grad();
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
    const Device dev = x.device();
    Tensor dx = need_x ? make_tensor(x.shape(), x.dtype(), dev) : Tensor();
    Tensor dgamma = need_w ? make_tensor({shape.affine_size()}, x.dtype(), dev) : Tensor();
    Tensor dbeta = need_b ? make_tensor({shape.affine_size()}, x.dtype(), dev) : Tensor();
    SDKD_DISPATCH(x.dtype(), T, {
      kern::NormBackwardArgs<T> a;
      a.dy = g.data<T>();
      a.x = x.data<T>();
      a.gamma = ptr_or_null<T>(gamma);
      a.mean = mean.defined() ? mean.data<double>() : nullptr;
      a.invstd = invstd.data<double>();
      a.dx = mut_or_null<T>(dx);
      a.dgamma = mut_or_null<T>(dgamma);
      a.dbeta = mut_or_null<T>(dbeta);
      backward_on<T>(x, shape, a);
    });
    return {dx, dgamma, dbeta};
  }
  const char* name() const override { return "NormBackward"; }
};

Tensor finish(Tensor out, const NormShape& shape, const Tensor& x_in, const Tensor& x, const Tensor& gamma,
              const Tensor& beta, Tensor mean, Tensor invstd) {
  if (needs_grad({&x_in, &gamma, &beta})) {
    auto node = std::make_shared<NormBackward>();
    node->inputs = {x_in, gamma, beta};
    node->shape = shape;
    node->x = x.detach();
    node->gamma = gamma.defined() ? gamma.detach().contiguous() : Tensor();
    node->mean = mean;
    node->invstd = invstd;
    record(out, node);
  }
  return out;
}

struct NCHW {
  int64_t N, C, HW;
};
NCHW nchw(const Tensor& x, const char* op) {
  SDKD_CHECK(x.dim() >= 2, op, ": expected (N, C, ...) input, got ", x.str());
  return {x.size(0), x.size(1), x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)};
}

// The CPU kernels check eps themselves; the CUDA ones take it on trust.
void check_eps_for_cuda(const Tensor& x, double eps, const char* op) {
  if (detail::on_cuda(x)) SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
}

}  // namespace

Tensor batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm2d";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta, &running_mean, &running_var}, op);
  const auto [N, C, HW] = nchw(x_in, op);
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  check_affine(running_mean, C, "running_mean", op);
  check_affine(running_var, C, "running_var", op);
  check_buffer(running_mean, "running_mean", op);
  check_buffer(running_var, "running_var", op);
  check_eps_for_cuda(x_in, eps, op);
  const NormShape shape{NormKind::batch, N, C, HW, 1, eps, training, momentum};
  const Device dev = x_in.device();
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor invstd = make_tensor({C}, DType::f64, dev);
  if (!training) {
    SDKD_CHECK(running_mean.defined() && running_var.defined(), op, ": eval mode needs running statistics");
    Tensor no_mean;
    run_forward(shape, x, g, b, out, no_mean, invstd, running_mean, running_var);
    if (!needs_grad({&x_in, &gamma, &beta})) return out;
    // The eval-mode node: the running mean, copied (a later training step updates the buffer
    // in place), and the eval invstd the forward wrote, both in double.
    const Tensor mean = running_mean.detach().to(DType::f64);
    return finish(out, shape, x_in, x, g, b, mean, invstd);
  }
  SDKD_CHECK(N * HW > 1, op, ": training mode needs more than one value per channel, got input ", shape_str(x.shape()));
  Tensor mean = make_tensor({C}, DType::f64, dev);
  run_forward(shape, x, g, b, out, mean, invstd, running_mean, running_var);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

Tensor group_norm(const Tensor& x_in, int64_t groups, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "group_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  const auto [N, C, HW] = nchw(x_in, op);
  SDKD_CHECK(groups >= 1 && C % groups == 0, op, ": ", C, " channels are not divisible into ", groups, " groups");
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  check_eps_for_cuda(x_in, eps, op);
  const NormShape shape{NormKind::group, N, C, HW, groups, eps};
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({shape.stats_size()}, DType::f64, dev), invstd = make_tensor({shape.stats_size()}, DType::f64, dev);
  Tensor no_running;
  run_forward(shape, x, g, b, out, mean, invstd, no_running, no_running);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

Tensor layer_norm(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  SDKD_CHECK(x_in.dim() >= 1, op, ": needs at least one dimension");
  const int64_t D = x_in.size(-1), rows = x_in.numel() / std::max<int64_t>(D, 1);
  check_affine(gamma, D, "weight", op);
  check_affine(beta, D, "bias", op);
  check_eps_for_cuda(x_in, eps, op);
  // Rows of D values: N = rows, C = 1, HW = D (kernels/common/norm_shape.hpp).
  const NormShape shape{NormKind::layer, rows, 1, D, 1, eps};
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({rows}, DType::f64, dev), invstd = make_tensor({rows}, DType::f64, dev);
  Tensor no_running;
  run_forward(shape, x, g, b, out, mean, invstd, no_running, no_running);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

}  // namespace sdkd
