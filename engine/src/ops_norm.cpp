// BatchNorm2d, GroupNorm and LayerNorm as autograd ops over the fused CPU kernels.
#include <cmath>

#include "dispatch.hpp"
#include "kernels/cpu/norm.hpp"
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

// Saves x, the affine weight and the per-group statistics; the kernels return dx and
// accumulate dgamma/dbeta into fresh zero buffers.
struct NormBackward : Node {
  NormKind kind;
  Tensor x, gamma, mean, invstd;
  int64_t N = 0, C = 0, HW = 0, G = 1;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    const bool need_x = inputs[0].requires_grad();
    const bool need_w = inputs[1].defined() && inputs[1].requires_grad();
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
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
          cpu::batch_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
                                      pdx, pdg, pdb, N, C, HW);
          break;
        case NormKind::group:
          cpu::group_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
                                      pdx, pdg, pdb, N, C, HW, G);
          break;
        case NormKind::layer:
          cpu::layer_norm_backward<T>(g.data<T>(), x.data<T>(), ptr_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
                                      pdx, pdg, pdb, N, HW);
          break;
      }
    });
    return {dx, dgamma, dbeta};
  }
  const char* name() const override { return "NormBackward"; }
};

Tensor finish(Tensor out, NormKind kind, const Tensor& x_in, const Tensor& x, const Tensor& gamma, const Tensor& beta,
              Tensor mean, Tensor invstd, int64_t N, int64_t C, int64_t HW, int64_t G) {
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

}  // namespace

Tensor batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm2d";
  detail::require_cpu(x_in, op);
  const auto [N, C, HW] = nchw(x_in, op);
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  check_affine(running_mean, C, "running_mean", op);
  check_affine(running_var, C, "running_var", op);
  const Tensor x = x_in.contiguous();
  Tensor out = make_tensor(x.shape(), x.dtype());
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  if (!training) {
    SDKD_CHECK(running_mean.defined() && running_var.defined(), op, ": eval mode needs running statistics");
    if (needs_grad({&x_in, &gamma, &beta})) {
      // Eval mode is an affine map per channel, y = (x - mean) * gamma * invstd + beta: with
      // gradients wanted it is composed from differentiable ops instead of the fused kernel.
      Tensor inv = Tensor::empty({C}, x.dtype());
      SDKD_DISPATCH(x.dtype(), T, {
        const T* rv = running_var.data<T>();
        T* pi = inv.data<T>();
        for (int64_t c = 0; c < C; ++c) pi[c] = T(1.0 / std::sqrt(double(rv[c]) + eps));
      });
      const Shape bshape = {1, C, 1, 1};
      Tensor s = gamma.defined() ? mul(gamma.reshape(bshape), inv.reshape(bshape)) : inv.reshape(bshape);
      Tensor y = mul(sub(x_in, running_mean.detach().reshape(bshape)), s);
      return beta.defined() ? add(y, beta.reshape(bshape)) : y;
    }
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::batch_norm_forward_eval<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b),
                                                  running_mean.data<T>(), running_var.data<T>(), out.data<T>(), N, C, HW, eps));
    return out;
  }
  SDKD_CHECK(N * HW > 1, op, ": training mode needs more than one value per channel, got input ", shape_str(x.shape()));
  Tensor mean = make_tensor({C}, x.dtype()), invstd = make_tensor({C}, x.dtype());
  SDKD_DISPATCH(x.dtype(), T,
                cpu::batch_norm_forward_train<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), N, C,
                                                 HW, eps, mean.data<T>(), invstd.data<T>(),
                                                 running_mean.defined() ? running_mean.data<T>() : nullptr,
                                                 running_var.defined() ? running_var.data<T>() : nullptr, momentum));
  return finish(out, NormKind::batch, x_in, x, g, b, mean, invstd, N, C, HW, 1);
}

Tensor group_norm(const Tensor& x_in, int64_t groups, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "group_norm";
  detail::require_cpu(x_in, op);
  const auto [N, C, HW] = nchw(x_in, op);
  SDKD_CHECK(groups >= 1 && C % groups == 0, op, ": ", C, " channels are not divisible into ", groups, " groups");
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype());
  Tensor mean = make_tensor({N * groups}, x.dtype()), invstd = make_tensor({N * groups}, x.dtype());
  SDKD_DISPATCH(x.dtype(), T,
                cpu::group_norm_forward<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), N, C, HW,
                                           groups, eps, mean.data<T>(), invstd.data<T>()));
  return finish(out, NormKind::group, x_in, x, g, b, mean, invstd, N, C, HW, groups);
}

Tensor layer_norm(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  detail::require_cpu(x_in, op);
  SDKD_CHECK(x_in.dim() >= 1, op, ": needs at least one dimension");
  const int64_t D = x_in.size(-1), rows = x_in.numel() / std::max<int64_t>(D, 1);
  check_affine(gamma, D, "weight", op);
  check_affine(beta, D, "bias", op);
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype());
  Tensor mean = make_tensor({rows}, x.dtype()), invstd = make_tensor({rows}, x.dtype());
  SDKD_DISPATCH(x.dtype(), T,
                cpu::layer_norm_forward<T>(x.data<T>(), ptr_or_null<T>(g), ptr_or_null<T>(b), out.data<T>(), rows, D, eps,
                                           mean.data<T>(), invstd.data<T>()));
  // LayerNorm's kernel takes (rows, D): pass N = rows, HW = D through the shared node.
  return finish(out, NormKind::layer, x_in, x, g, b, mean, invstd, rows, 1, D, 1);
}

}  // namespace sdkd
