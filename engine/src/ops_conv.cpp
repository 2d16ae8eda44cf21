// conv2d and conv_transpose2d as autograd ops over the CPU implicit-GEMM kernels.
#include "dispatch.hpp"
#include "kernels/cpu/conv.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

namespace sdkd {

namespace {

template <class P>
void fill_common(P& p, const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  p.N = x.size(0);
  p.C_in = x.size(1);
  p.H = x.size(2);
  p.W = x.size(3);
  p.kH = w.size(2);
  p.kW = w.size(3);
  p.stride_h = o.stride_h;
  p.stride_w = o.stride_w;
  p.pad_h = o.pad_h;
  p.pad_w = o.pad_w;
  p.dil_h = o.dil_h;
  p.dil_w = o.dil_w;
  p.groups = o.groups;
}

void check_args(const Tensor& x, const Tensor& w, const Tensor& b, const char* op, int64_t w_in, int64_t c_out) {
  detail::require_cpu(x, op);
  detail::require_cpu(w, op);
  detail::require_same_dtype(x, w, op);
  SDKD_CHECK(x.dim() == 4, op, ": expected input (N, C, H, W), got ", shape_str(x.shape()));
  SDKD_CHECK(w.dim() == 4, op, ": expected a 4-d weight, got ", shape_str(w.shape()));
  SDKD_CHECK(x.size(1) == w_in, op, ": input has ", x.size(1), " channels, weight ", shape_str(w.shape()),
             " expects ", w_in);
  if (b.defined()) {
    detail::require_same_dtype(x, b, op);
    SDKD_CHECK(b.dim() == 1 && b.size(0) == c_out, op, ": bias must have shape [", c_out, "], got ", shape_str(b.shape()));
  }
}

// One node for both directions: the kernels are each other's adjoints.
template <class P, bool Transposed>
struct ConvBackward : Node {
  P p;
  Tensor x, w;  // contiguous, detached
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    Tensor dx, dw, db;
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
    SDKD_DISPATCH(x.dtype(), T, {
      if (inputs[0].requires_grad()) {
        dx = make_tensor(x.shape(), x.dtype());
        if constexpr (Transposed) cpu::conv_transpose2d_backward_data<T>(p, g.data<T>(), w.data<T>(), dx.data<T>());
        else cpu::conv2d_backward_data<T>(p, g.data<T>(), w.data<T>(), dx.data<T>());
      }
      if (inputs[1].requires_grad() || need_b) {
        dw = Tensor::zeros(w.shape(), w.dtype());
        if (need_b) db = Tensor::zeros({p.C_out}, w.dtype());
        T* pdb = need_b ? db.data<T>() : nullptr;
        if constexpr (Transposed) cpu::conv_transpose2d_backward_weight<T>(p, x.data<T>(), g.data<T>(), dw.data<T>(), pdb);
        else cpu::conv2d_backward_weight<T>(p, x.data<T>(), g.data<T>(), dw.data<T>(), pdb);
        if (!inputs[1].requires_grad()) dw = Tensor();
      }
    });
    return {dx, dw, db};
  }
  const char* name() const override { return Transposed ? "ConvTranspose2dBackward" : "Conv2dBackward"; }
};

template <class P, bool Transposed>
Tensor finish(Tensor y, const P& p, const Tensor& x_in, const Tensor& w_in, const Tensor& b, const Tensor& x,
              const Tensor& w) {
  if (needs_grad({&x_in, &w_in, &b})) {
    auto node = std::make_shared<ConvBackward<P, Transposed>>();
    node->inputs = {x_in, w_in, b};
    node->p = p;
    node->x = x.detach();
    node->w = w.detach();
    record(y, node);
  }
  return y;
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, const Conv2dOptions& o) {
  const char* op = "conv2d";
  SDKD_CHECK(o.groups >= 1, op, ": groups must be >= 1");
  SDKD_CHECK(w_in.dim() == 4, op, ": expected weight (C_out, C_in/groups, kH, kW), got ", shape_str(w_in.shape()));
  check_args(x_in, w_in, b, op, w_in.size(1) * o.groups, w_in.size(0));
  cpu::Conv2dParams p;
  fill_common(p, x_in, w_in, o);
  p.C_out = w_in.size(0);
  p.validate();
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype());
  // 2 FLOPs per multiply-add: every output element sums C_in/groups * kH * kW products.
  FlopCounter::add(2 * y.numel() * (p.C_in / p.groups) * p.kH * p.kW);
  SDKD_DISPATCH(x.dtype(), T,
                cpu::conv2d_forward<T>(p, x.data<T>(), w.data<T>(), bc.defined() ? bc.data<T>() : nullptr, y.data<T>()));
  return finish<cpu::Conv2dParams, false>(y, p, x_in, w_in, b, x, w);
}

Tensor conv_transpose2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, const Conv2dOptions& o) {
  const char* op = "conv_transpose2d";
  SDKD_CHECK(o.groups >= 1, op, ": groups must be >= 1");
  SDKD_CHECK(w_in.dim() == 4, op, ": expected weight (C_in, C_out/groups, kH, kW), got ", shape_str(w_in.shape()));
  check_args(x_in, w_in, b, op, w_in.size(0), w_in.size(1) * o.groups);
  cpu::ConvT2dParams p;
  fill_common(p, x_in, w_in, o);
  p.C_out = w_in.size(1) * o.groups;
  p.output_padding_h = o.out_pad_h;
  p.output_padding_w = o.out_pad_w;
  p.validate();
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype());
  // Every input element scatters into C_out/groups * kH * kW outputs.
  FlopCounter::add(2 * x.numel() * (p.C_out / p.groups) * p.kH * p.kW);
  SDKD_DISPATCH(x.dtype(), T,
                cpu::conv_transpose2d_forward<T>(p, x.data<T>(), w.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                                                 y.data<T>()));
  return finish<cpu::ConvT2dParams, true>(y, p, x_in, w_in, b, x, w);
}

}  // namespace sdkd
