// BatchNorm2d, GroupNorm and LayerNorm as autograd ops over the fused CPU kernels and their
// CUDA twins (kernels/cuda/norm.hpp, float32).
#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "dispatch.hpp"
#include "kernels/cpu/norm.hpp"
#ifdef SDKD_WITH_CUDA
#include "kernels/cuda/norm.hpp"
#endif
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

enum class NormKind { batch, group, layer };

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

#ifdef SDKD_WITH_CUDA
// Scratch for the CUDA kernels' partial sums, from the caching allocator.
Tensor cuda_workspace(int64_t doubles, Device device) {
  return make_tensor({std::max<int64_t>(doubles, 1)}, DType::f64, device);
}
#endif

// Saves x, the affine weight and the per-group statistics (float64 on every device and for
// every dtype, as the forward computed them); the kernels return dx and
// accumulate dgamma/dbeta into fresh zero buffers (the CUDA kernels overwrite them).
struct NormBackward : Node {
  NormKind kind;
  Tensor x, gamma, mean, invstd;
  int64_t N = 0, C = 0, HW = 0, G = 1;
  bool training = true;  // BatchNorm only: false records eval mode (statistics are constants)
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    const bool need_x = inputs[0].requires_grad();
    const bool need_w = inputs[1].defined() && inputs[1].requires_grad();
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
    if (detail::on_cuda(x)) return backward_cuda(g, need_x, need_w, need_b);
    Tensor dx = need_x ? make_tensor(x.shape(), x.dtype()) : Tensor();
    const int64_t affine = kind == NormKind::layer ? HW : C;
    Tensor dgamma = need_w ? Tensor::zeros({affine}, x.dtype()) : Tensor();
    Tensor dbeta = need_b ? Tensor::zeros({affine}, x.dtype()) : Tensor();
    SDKD_DISPATCH(x.dtype(), T, {
      T* pdx = need_x ? dx.data<T>() : nullptr;
      T* pdg = need_w ? dgamma.data<T>() : nullptr;
      T* pdb = need_b ? dbeta.data<T>() : nullptr;
      switch (kind) {
        case NormKind::batch:
          cpu::batch_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<double>(),
                                      invstd.data<double>(), pdx, pdg, pdb, N, C, HW, training);
          break;
        case NormKind::group:
          cpu::group_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<double>(),
                                      invstd.data<double>(), pdx, pdg, pdb, N, C, HW, G);
          break;
        case NormKind::layer:
          cpu::layer_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<double>(),
                                      invstd.data<double>(), pdx, pdg, pdb, N, HW);
          break;
      }
    });
    return {dx, dgamma, dbeta};
  }

  // The fused CUDA backward: one call gives dx, dgamma and dbeta (written, not accumulated).
  std::vector<Tensor> backward_cuda(const Tensor& g, bool need_x, bool need_w, bool need_b) {
    detail::require_same_device(x, g, name());
    detail::require_f32_on_cuda(g, name());
    const Device dev = x.device();
    const int64_t affine = kind == NormKind::layer ? HW : C;
    Tensor dx = need_x ? make_tensor(x.shape(), DType::f32, dev) : Tensor();
    Tensor dgamma = need_w ? make_tensor({affine}, DType::f32, dev) : Tensor();
    Tensor dbeta = need_b ? make_tensor({affine}, DType::f32, dev) : Tensor();
    SDKD_CUDA_ONLY({
      float* pdx = need_x ? dx.data<float>() : nullptr;
      float* pdg = need_w ? dgamma.data<float>() : nullptr;
      float* pdb = need_b ? dbeta.data<float>() : nullptr;
      const float* pg = ptr_or_null<float>(gamma);
      switch (kind) {
        case NormKind::batch: {
          Tensor ws = cuda_workspace(gpu::batch_norm_workspace(N, C, HW), dev);
          gpu::batch_norm_backward(g.data<float>(), x.data<float>(), pg, mean.data<double>(), invstd.data<double>(), pdx,
                                   pdg, pdb, N, C, HW, training, ws.data<double>());
          break;
        }
        case NormKind::group: {
          Tensor ws = cuda_workspace(gpu::group_norm_workspace(N, C, HW, G), dev);
          gpu::group_norm_backward(g.data<float>(), x.data<float>(), pg, mean.data<double>(), invstd.data<double>(), pdx,
                                   pdg, pdb, N, C, HW, G, ws.data<double>());
          break;
        }
        case NormKind::layer: {
          Tensor ws = cuda_workspace(need_w || need_b ? gpu::layer_norm_backward_workspace(N, HW) : 0, dev);
          gpu::layer_norm_backward(g.data<float>(), x.data<float>(), pg, mean.data<double>(), invstd.data<double>(), pdx,
                                   pdg, pdb, N, HW, ws.data<double>());
          break;
        }
      }
    });
    return {dx, dgamma, dbeta};
  }
  const char* name() const override { return "NormBackward"; }
};

Tensor finish(Tensor out, NormKind kind, const Tensor& x_in, const Tensor& x, const Tensor& gamma, const Tensor& beta,
              Tensor mean, Tensor invstd, int64_t N, int64_t C, int64_t HW, int64_t G, bool training = true) {
  if (needs_grad({&x_in, &gamma, &beta})) {
    auto node = std::make_shared<NormBackward>();
    node->inputs = {x_in, gamma, beta};
    node->kind = kind;
    node->x = x.detach();
    node->gamma = gamma.defined() ? gamma.detach().contiguous() : Tensor();
    node->mean = mean;
    node->invstd = invstd;
    node->N = N;
    node->C = C;
    node->HW = HW;
    node->G = G;
    node->training = training;
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

// BatchNorm2d on CUDA: the training forward fuses statistics, running update and normalisation;
// eval mode runs one fused kernel too and, when gradients are wanted, records the same node in
// eval mode (dx = gamma * invstd * dy), as the CPU does.
Tensor batch_norm2d_cuda(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, bool training, [[maybe_unused]] double momentum, double eps) {
  const char* op = "batch_norm2d";
  SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
  const auto [N, C, HW] = nchw(x_in, op);
  const Device dev = x_in.device();
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  Tensor out = make_tensor(x.shape(), DType::f32, dev);
  Tensor invstd = make_tensor({C}, DType::f64, dev);
  if (!training) {
    SDKD_CHECK(running_mean.defined() && running_var.defined(), op, ": eval mode needs running statistics");
    SDKD_CUDA_ONLY({
      Tensor ws = cuda_workspace(gpu::batch_norm_workspace(N, C, HW), dev);
      gpu::batch_norm_forward_eval(x.data<float>(), ptr_or_null<float>(g), ptr_or_null<float>(b),
                                   running_mean.data<float>(), running_var.data<float>(), out.data<float>(), N, C, HW,
                                   eps, invstd.data<double>(), ws.data<double>());
    });
    // A copy of the running mean: a later training step updates the buffer in place.
    const Tensor mean = needs_grad({&x_in, &gamma, &beta}) ? running_mean.detach().to(DType::f64) : Tensor();
    return finish(out, NormKind::batch, x_in, x, g, b, mean, invstd, N, C, HW, 1, false);
  }
  SDKD_CHECK(N * HW > 1, op, ": training mode needs more than one value per channel, got input ", shape_str(x.shape()));
  Tensor mean = make_tensor({C}, DType::f64, dev);
  SDKD_CUDA_ONLY({
    Tensor ws = cuda_workspace(gpu::batch_norm_workspace(N, C, HW), dev);
    gpu::batch_norm_forward_train(x.data<float>(), ptr_or_null<float>(g), ptr_or_null<float>(b), out.data<float>(), N,
                                  C, HW, eps, mean.data<double>(), invstd.data<double>(),
                                  running_mean.defined() ? running_mean.data<float>() : nullptr,
                                  running_var.defined() ? running_var.data<float>() : nullptr, momentum,
                                  ws.data<double>());
  });
  return finish(out, NormKind::batch, x_in, x, g, b, mean, invstd, N, C, HW, 1);
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
  if (detail::on_cuda(x_in)) return batch_norm2d_cuda(x_in, gamma, beta, running_mean, running_var, training, momentum, eps);
  const Tensor x = x_in.contiguous();
  Tensor out = make_tensor(x.shape(), x.dtype());
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  if (!training) {
    SDKD_CHECK(running_mean.defined() && running_var.defined(), op, ": eval mode needs running statistics");
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::batch_norm_forward_eval<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b),
                                                  running_mean.data<T>(), running_var.data<T>(), out.data<T>(), N, C, HW, eps));
    if (!needs_grad({&x_in, &gamma, &beta})) return out;
    // The eval-mode node, as on CUDA: the running mean (copied: a later training step updates
    // the buffer in place) and 1 / sqrt(running var + eps), both in double.
    const Tensor mean = running_mean.detach().to(DType::f64);
    Tensor invstd = make_tensor({C}, DType::f64);
    const std::vector<double> rv = running_var.to_double_vector();
    for (int64_t c = 0; c < C; ++c) invstd.data<double>()[c] = 1.0 / std::sqrt(rv[size_t(c)] + eps);
    return finish(out, NormKind::batch, x_in, x, g, b, mean, invstd, N, C, HW, 1, false);
  }
  SDKD_CHECK(N * HW > 1, op, ": training mode needs more than one value per channel, got input ", shape_str(x.shape()));
  Tensor mean = make_tensor({C}, DType::f64), invstd = make_tensor({C}, DType::f64);
  SDKD_DISPATCH(x.dtype(), T,
                cpu::batch_norm_forward_train<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), N, C,
                                                 HW, eps, mean.data<double>(), invstd.data<double>(),
                                                 running_mean.defined() ? running_mean.data<T>() : nullptr,
                                                 running_var.defined() ? running_var.data<T>() : nullptr, momentum));
  return finish(out, NormKind::batch, x_in, x, g, b, mean, invstd, N, C, HW, 1);
}

Tensor group_norm(const Tensor& x_in, int64_t groups, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "group_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  const auto [N, C, HW] = nchw(x_in, op);
  SDKD_CHECK(groups >= 1 && C % groups == 0, op, ": ", C, " channels are not divisible into ", groups, " groups");
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({N * groups}, DType::f64, dev), invstd = make_tensor({N * groups}, DType::f64, dev);
  if (detail::on_cuda(x)) {
    SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
    SDKD_CUDA_ONLY({
      Tensor ws = cuda_workspace(gpu::group_norm_workspace(N, C, HW, groups), dev);
      gpu::group_norm_forward(x.data<float>(), ptr_or_null<float>(g), ptr_or_null<float>(b), out.data<float>(), N, C,
                              HW, groups, eps, mean.data<double>(), invstd.data<double>(), ws.data<double>());
    });
  } else {
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::group_norm_forward<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), N, C,
                                             HW, groups, eps, mean.data<double>(), invstd.data<double>()));
  }
  return finish(out, NormKind::group, x_in, x, g, b, mean, invstd, N, C, HW, groups);
}

Tensor layer_norm(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  SDKD_CHECK(x_in.dim() >= 1, op, ": needs at least one dimension");
  const int64_t D = x_in.size(-1), rows = x_in.numel() / std::max<int64_t>(D, 1);
  check_affine(gamma, D, "weight", op);
  check_affine(beta, D, "bias", op);
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({rows}, DType::f64, dev), invstd = make_tensor({rows}, DType::f64, dev);
  if (detail::on_cuda(x)) {
    SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
    SDKD_CUDA_ONLY(gpu::layer_norm_forward(x.data<float>(), ptr_or_null<float>(g), ptr_or_null<float>(b),
                                           out.data<float>(), rows, D, eps, mean.data<double>(), invstd.data<double>()));
  } else {
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::layer_norm_forward<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), rows,
                                             D, eps, mean.data<double>(), invstd.data<double>()));
  }
  // LayerNorm's kernel takes (rows, D): pass N = rows, HW = D through the shared node.
  return finish(out, NormKind::layer, x_in, x, g, b, mean, invstd, rows, 1, D, 1);
}

}  // namespace sdkd
