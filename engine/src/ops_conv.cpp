// conv2d and conv_transpose2d as autograd ops. Each op lowers its parameters once into the
// problem both backends solve (kernels/common/conv_problem.hpp: an image side, a column side,
// the weight in one layout) and hands it to the kernels of the tensor's device, the CPU's
// im2col + GEMM (any floating dtype) or the CUDA implicit GEMM (float32), through one small
// interface with the same three kernels on both. The transposed convolution is the adjoint:
// its forward is the lowered backward-data, its backward-data the lowered forward, and its
// weight gradient the lowered one with the roles of input and output gradient swapped. One
// node serves both ops on both devices.
#include "dispatch.hpp"
#include "kernels/common/conv_problem.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cuda/conv.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

namespace sdkd {

namespace {

using kern::ConvProblem;

// The CPU kernels for one dtype. Every kernel overwrites its output (kernels/cpu/conv.hpp).
template <class T>
struct CpuConvKernels {
  using Scalar = T;
  void forward(const ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col) const {
    cpu::conv2d_forward(p, img, w, col_bias, col);
  }
  void backward_data(const ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img) const {
    cpu::conv2d_backward_data(p, col, w, img_bias, img);
  }
  void backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw) const {
    cpu::conv2d_backward_weight(p, img, col, dw);
  }
  void bias_backward(const T* dy, int64_t N, int64_t C, int64_t plane, T* db) const {
    cpu::conv_bias_backward(dy, N, C, plane, db);
  }
};

// The CUDA kernels (float32) on the device's execution context; the problem was checked to fit
// their int indexing where it was lowered. Compiled out without CUDA (no CUDA tensor can
// reach it there).
struct CudaConvKernels {
  using Scalar = float;
  gpu::ExecContext ctx;
  void forward([[maybe_unused]] const ConvProblem& p, [[maybe_unused]] const float* img,
               [[maybe_unused]] const float* w, [[maybe_unused]] const float* col_bias,
               [[maybe_unused]] float* col) const {
    SDKD_CUDA_ONLY(gpu::conv2d_forward(ctx, p, img, w, col_bias, col));
  }
  void backward_data([[maybe_unused]] const ConvProblem& p, [[maybe_unused]] const float* col,
                     [[maybe_unused]] const float* w, [[maybe_unused]] const float* img_bias,
                     [[maybe_unused]] float* img) const {
    SDKD_CUDA_ONLY(gpu::conv2d_backward_data(ctx, p, col, w, img_bias, img));
  }
  void backward_weight([[maybe_unused]] const ConvProblem& p, [[maybe_unused]] const float* img,
                       [[maybe_unused]] const float* col, [[maybe_unused]] float* dw) const {
    SDKD_CUDA_ONLY(gpu::conv2d_backward_weight(ctx, p, img, col, dw));
  }
  void bias_backward([[maybe_unused]] const float* dy, [[maybe_unused]] int64_t N, [[maybe_unused]] int64_t C,
                     [[maybe_unused]] int64_t plane, [[maybe_unused]] float* db) const {
    SDKD_CUDA_ONLY(gpu::conv_bias_backward(ctx, dy, int(N), int(C), int(plane), db));
  }
};

// Runs f(kernels) with the kernels of t's device (and, on the CPU, its dtype).
template <class F>
void with_conv_kernels(const Tensor& t, F&& f) {
  if (detail::on_cuda(t)) {
    CudaConvKernels k;
    SDKD_CUDA_ONLY(k.ctx = detail::cuda_context(t));
    f(k);
    return;
  }
  SDKD_DISPATCH(t.dtype(), T, f(CpuConvKernels<T>{}));
}

// t's data in the scalar type of kernels K; null for an undefined tensor (an absent bias).
template <class K>
typename K::Scalar* data(const K&, const Tensor& t) {
  return t.defined() ? t.data<typename K::Scalar>() : nullptr;
}

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

// The lowered problem of the op's parameters (validated), checked once against the CUDA
// kernels' int indexing when the tensors live on a GPU.
template <class P>
ConvProblem lower_for(const P& p, const Tensor& x, const char* op) {
  const ConvProblem q = kern::lower(p);
  if (detail::on_cuda(x))
    SDKD_CHECK(q.fits_int(), op, ": a tensor of ", q.largest_numel(),
               " elements is too large for the CUDA kernels (limit 2^31 - 1); split the batch");
  return q;
}

// One node for both ops and both devices: the lowered kernels are each other's adjoints.
struct ConvBackward : Node {
  ConvProblem problem;
  bool transposed = false;
  Tensor x, w;  // contiguous, detached
  std::vector<Tensor> backward(const Tensor& gout) override {
    detail::require_same_device(x, gout, name());
    const Tensor g = gout.contiguous();
    if (detail::on_cuda(g)) detail::require_f32_on_cuda(g, name());
    // Image and column side of the lowered problem: (x, dy) for conv2d, (dy, x) for convT.
    const Tensor& img = transposed ? g : x;
    const Tensor& col = transposed ? x : g;
    Tensor dx, dw, db;
    with_conv_kernels(x, [&](const auto& k) {
      if (inputs[0].requires_grad()) {
        dx = make_tensor(x.shape(), x.dtype(), x.device());
        if (transposed) k.forward(problem, data(k, g), data(k, w), nullptr, data(k, dx));
        else k.backward_data(problem, data(k, g), data(k, w), nullptr, data(k, dx));
      }
      if (inputs[1].requires_grad()) {
        dw = make_tensor(w.shape(), w.dtype(), w.device());
        k.backward_weight(problem, data(k, img), data(k, col), data(k, dw));
      }
      if (inputs[2].defined() && inputs[2].requires_grad()) {
        // The bias belongs to the op's output channels in both directions: sum g over n, h, w.
        db = make_tensor({g.size(1)}, g.dtype(), g.device());
        k.bias_backward(data(k, g), g.size(0), g.size(1), g.size(2) * g.size(3), data(k, db));
      }
    });
    return {dx, dw, db};
  }
  const char* name() const override { return transposed ? "ConvTranspose2dBackward" : "Conv2dBackward"; }
};

Tensor finish(Tensor y, const ConvProblem& problem, bool transposed, const Tensor& x_in, const Tensor& w_in,
              const Tensor& b, const Tensor& x, const Tensor& w) {
  if (needs_grad({&x_in, &w_in, &b})) {
    auto node = std::make_shared<ConvBackward>();
    node->inputs = {x_in, w_in, b};
    node->problem = problem;
    node->transposed = transposed;
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
  kern::Conv2dParams p;
  fill_common(p, x_in, w_in, o);
  p.C_out = w_in.size(0);
  const ConvProblem problem = lower_for(p, x_in, op);
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype(), x.device());
  // 2 FLOPs per multiply-add: every output element sums C_in/groups * kH * kW products.
  FlopCounter::add(2 * y.numel() * (p.C_in / p.groups) * p.kH * p.kW);
  with_conv_kernels(x, [&](const auto& k) { k.forward(problem, data(k, x), data(k, w), data(k, bc), data(k, y)); });
  return finish(y, problem, false, x_in, w_in, b, x, w);
}

Tensor conv_transpose2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, const Conv2dOptions& o) {
  const char* op = "conv_transpose2d";
  SDKD_CHECK(o.groups >= 1, op, ": groups must be >= 1");
  SDKD_CHECK(w_in.dim() == 4, op, ": expected weight (C_in, C_out/groups, kH, kW), got ", shape_str(w_in.shape()));
  check_args(x_in, w_in, b, op, w_in.size(0), w_in.size(1) * o.groups);
  kern::ConvT2dParams p;
  fill_common(p, x_in, w_in, o);
  p.C_out = w_in.size(1) * o.groups;
  p.output_padding_h = o.out_pad_h;
  p.output_padding_w = o.out_pad_w;
  const ConvProblem problem = lower_for(p, x_in, op);
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  Tensor y = make_tensor({p.N, p.C_out, p.H_out(), p.W_out()}, x.dtype(), x.device());
  // Every input element scatters into C_out/groups * kH * kW outputs.
  FlopCounter::add(2 * x.numel() * (p.C_out / p.groups) * p.kH * p.kW);
  // The lowered backward-data, the bias added per image-side (output) channel.
  with_conv_kernels(x, [&](const auto& k) {
    k.backward_data(problem, data(k, x), data(k, w), data(k, bc), data(k, y));
  });
  return finish(y, problem, true, x_in, w_in, b, x, w);
}

}  // namespace sdkd
