// conv2d and conv_transpose2d as autograd ops over the CPU im2col + GEMM kernels and the
// CUDA implicit-GEMM kernels (float32). On the GPU both ops are described to the kernels as
// conv2d's "lowered" problem (kernels/cuda/conv.hpp): for the transposed convolution its
// output is the image side and its input the column side, so its forward is conv2d's
// backward-data, its backward-data conv2d's forward, and its weight gradient conv2d's with
// the roles of input and output gradient swapped.
#include <climits>

#include "dispatch.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cuda/conv.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
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
  if (detail::on_cuda(x) || detail::on_cuda(w) || detail::on_cuda(b)) {
    detail::require_defined(x, op);
    detail::require_defined(w, op);
    detail::require_same_device(x, w, op);
    detail::require_same_device(x, b, op);
    detail::require_f32_on_cuda(x, op);
  } else {
    detail::require_cpu(x, op);
    detail::require_cpu(w, op);
  }
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

// The CUDA kernels index with int: every tensor of the problem must stay below 2^31 elements.
void check_gpu_sizes(const char* op, std::initializer_list<int64_t> numels) {
  for (int64_t n : numels)
    SDKD_CHECK(n <= INT_MAX, op, ": a tensor of ", n, " elements is too large for the CUDA kernels (limit 2^31 - 1);",
               " split the batch");
}

// conv2d's own geometry is the lowered problem.
gpu::ConvGeom gpu_geom(const cpu::Conv2dParams& p) {
  check_gpu_sizes("conv2d", {p.N * p.C_in * p.H * p.W, p.N * p.C_out * p.H_out() * p.W_out(),
                             p.C_out * (p.C_in / p.groups) * p.kH * p.kW});
  gpu::ConvGeom g;
  g.N = int(p.N), g.C_in = int(p.C_in), g.H = int(p.H), g.W = int(p.W);
  g.C_out = int(p.C_out), g.kH = int(p.kH), g.kW = int(p.kW), g.H_out = int(p.H_out()), g.W_out = int(p.W_out());
  g.stride_h = p.stride_h, g.stride_w = p.stride_w, g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dil_h = p.dil_h, g.dil_w = p.dil_w, g.groups = p.groups;
  return g;
}

// The transposed convolution's output (output_padding included) is the image side, its input
// the column side; its weight (C_in, C_out/groups, kH, kW) is (column channels, image
// channels / groups, kH, kW), the lowered layout already. H_out/W_out are given explicitly,
// so output_padding rows that no tap reaches simply get no contribution.
gpu::ConvGeom gpu_geom(const cpu::ConvT2dParams& p) {
  check_gpu_sizes("conv_transpose2d", {p.N * p.C_in * p.H * p.W, p.N * p.C_out * p.H_out() * p.W_out(),
                                       p.C_in * (p.C_out / p.groups) * p.kH * p.kW});
  gpu::ConvGeom g;
  g.N = int(p.N), g.C_in = int(p.C_out), g.H = int(p.H_out()), g.W = int(p.W_out());
  g.C_out = int(p.C_in), g.kH = int(p.kH), g.kW = int(p.kW), g.H_out = int(p.H), g.W_out = int(p.W);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w, g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dil_h = p.dil_h, g.dil_w = p.dil_w, g.groups = p.groups;
  return g;
}

// One node for both directions: the kernels are each other's adjoints.
template <class P, bool Transposed>
struct ConvBackward : Node {
  P p;
  Tensor x, w;  // contiguous, detached
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    if (detail::on_cuda(x)) return backward_cuda(g);
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

  // g: the op's output gradient, contiguous, on x's device.
  std::vector<Tensor> backward_cuda(const Tensor& g) {
    detail::require_same_device(x, g, name());
    detail::require_f32_on_cuda(g, name());
    Tensor dx, dw, db;
    [[maybe_unused]] const gpu::ConvGeom geo = gpu_geom(p);
    [[maybe_unused]] const float* gp = g.data<float>();
    if (inputs[0].requires_grad()) {
      dx = make_tensor(x.shape(), x.dtype(), x.device());
      [[maybe_unused]] float* dxp = dx.data<float>();
      if constexpr (Transposed) SDKD_CUDA_ONLY(gpu::conv2d_forward(geo, gp, w.data<float>(), nullptr, dxp));
      else SDKD_CUDA_ONLY(gpu::conv2d_backward_data(geo, gp, w.data<float>(), nullptr, dxp));
    }
    if (inputs[1].requires_grad()) {
      dw = make_tensor(w.shape(), w.dtype(), w.device());
      // Deterministic mode: per-split partial sums in a workspace, added in a fixed order.
      [[maybe_unused]] const bool det = deterministic();
      int64_t ws_floats = 0;
      SDKD_CUDA_ONLY(ws_floats = gpu::conv2d_backward_weight_workspace(geo, det));
      const Tensor ws = ws_floats > 0 ? make_tensor({ws_floats}, DType::f32, x.device()) : Tensor();
      [[maybe_unused]] float* wsp = ws.defined() ? ws.data<float>() : nullptr;
      // Image and column side of the lowered problem: (x, dy) for conv2d, (dy, x) for convT.
      [[maybe_unused]] const float* img = Transposed ? gp : x.data<float>();
      [[maybe_unused]] const float* col = Transposed ? x.data<float>() : gp;
      SDKD_CUDA_ONLY(gpu::conv2d_backward_weight(geo, img, col, dw.data<float>(), wsp, det));
    }
    if (inputs[2].defined() && inputs[2].requires_grad()) {
      // The bias belongs to the op's output channels in both directions: sum g over n, h, w.
      db = make_tensor({p.C_out}, g.dtype(), g.device());
      SDKD_CUDA_ONLY(gpu::conv_bias_backward(gp, int(g.size(0)), int(g.size(1)), int(g.size(2) * g.size(3)),
                                             db.data<float>()));
    }
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
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype(), x.device());
  // 2 FLOPs per multiply-add: every output element sums C_in/groups * kH * kW products.
  FlopCounter::add(2 * y.numel() * (p.C_in / p.groups) * p.kH * p.kW);
  if (detail::on_cuda(x)) {
    [[maybe_unused]] const gpu::ConvGeom g = gpu_geom(p);
    SDKD_CUDA_ONLY(gpu::conv2d_forward(g, x.data<float>(), w.data<float>(), bc.defined() ? bc.data<float>() : nullptr,
                                       y.data<float>()));
  } else {
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::conv2d_forward<T>(p, x.data<T>(), w.data<T>(), bc.defined() ? bc.data<T>() : nullptr, y.data<T>()));
  }
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
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype(), x.device());
  // Every input element scatters into C_out/groups * kH * kW outputs.
  FlopCounter::add(2 * x.numel() * (p.C_out / p.groups) * p.kH * p.kW);
  if (detail::on_cuda(x)) {
    // conv2d's backward-data of the lowered problem, the bias added per output channel.
    [[maybe_unused]] const gpu::ConvGeom g = gpu_geom(p);
    SDKD_CUDA_ONLY(gpu::conv2d_backward_data(g, x.data<float>(), w.data<float>(),
                                             bc.defined() ? bc.data<float>() : nullptr, y.data<float>()));
  } else {
    SDKD_DISPATCH(x.dtype(), T,
                  cpu::conv_transpose2d_forward<T>(p, x.data<T>(), w.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                                                   y.data<T>()));
  }
  return finish<cpu::ConvT2dParams, true>(y, p, x_in, w_in, b, x, w);
}

}  // namespace sdkd
