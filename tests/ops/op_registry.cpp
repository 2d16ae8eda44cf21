// The op registry: every public differentiable op of the engine as a list of cases (with the
// bench-scale perf shapes of the ops sdkd-bench times through them), and the ways of running a
// case: grad, backend and the quick perf timing of the test shapes.
#include "ops/op_registry.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/nn.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"
#include "sdkd/spectral_loss.hpp"

namespace sdkd::test::ops {

namespace {

using namespace cost;

// ---- tolerance presets (CUDA vs CPU float32; see Tolerance in the header) ----
Tolerance cuda_tol(double fwd_rtol, double fwd_atol, double grad_rtol, double grad_atol, double fd_tol = 1e-6) {
  Tolerance t;
  t.fd_tol = fd_tol;
  t.fwd_rtol = fwd_rtol, t.fwd_atol = fwd_atol, t.grad_rtol = grad_rtol, t.grad_atol = grad_atol;
  return t;
}
// One IEEE operation per element on both devices; gradients through sum_to accumulate in
// another order (as tests/cuda/test_cuda_elementwise.cpp).
Tolerance exact_tol() { return cuda_tol(1e-6, 1e-7, 1e-5, 1e-6); }
// CUDA's expf/logf/tanhf/powf/erff are within a few ulp; the fused backward forms f' in float.
Tolerance transcendental_tol() { return cuda_tol(2e-6, 1e-6, 1e-5, 1e-5); }
// Reductions: double accumulators on both devices, summed in another order.
Tolerance reduce_tol() { return cuda_tol(1e-5, 1e-6, 1e-6, 1e-7); }
// Dot products (GEMM, conv, attention), norms, softmax: float32 sums of tens of terms in another
// order (tests/cuda/test_cuda_{gemm,conv,norm,softmax,attention}.cpp use 1e-4 relative).
Tolerance dot_tol() { return cuda_tol(1e-4, 1e-5, 1e-4, 1e-5); }
// cuFFT vs kissfft (tests/cuda/test_cuda_fft.cpp: 1e-4 relative, 3e-5 absolute on O(1) values).
Tolerance fft_tol() { return cuda_tol(1e-4, 3e-5, 1e-4, 3e-5); }
// Pointwise losses: one blocked double sum; the gradient is one float operation per element.
// fd_tol 1e-8: mean losses have O(1/numel) gradients, so 1e-6 absolute would be 1e-4 relative.
Tolerance loss_tol() { return cuda_tol(1e-5, 1e-6, 1e-6, 1e-7, /*fd_tol=*/1e-8); }
// The fused band-split loss (tests/cuda/test_cuda_spectral_loss.cpp: loss 2e-5, gradient 1e-4 + 2e-5 max).
Tolerance spectral_tol() { return cuda_tol(2e-5, 1e-6, 1e-4, 2e-5, /*fd_tol=*/1e-8); }
// Bilinear taps: the forward is exact float arithmetic; the backward scatters in another order.
Tolerance resample_tol() { return cuda_tol(1e-6, 1e-7, 1e-5, 1e-5); }

InputSpec in(Shape s, Fill f = Fill::normal, double scale = 1.0) { return {std::move(s), f, true, scale}; }
// An input that is not differentiated: a target, a teacher, running statistics.
InputSpec fixed(Shape s, Fill f = Fill::normal, double scale = 1.0) { return {std::move(s), f, false, scale}; }

class Builder {
 public:
  Builder(std::vector<OpCase>& out, std::string family, Tolerance tol) : out_(out), family_(std::move(family)), tol_(tol) {}
  // Adds a case with the family's tolerance; returns it for per-case adjustments (a tolerance,
  // a note, bench-scale perf shapes).
  OpCase& add(std::string name, std::vector<std::string> covers, std::vector<InputSpec> inputs, OpFn fn,
              CostFn cost = per_output(1.0)) {
    OpCase c;
    c.name = std::move(name);
    c.family = family_;
    c.covers = std::move(covers);
    c.inputs = std::move(inputs);
    c.fn = std::move(fn);
    c.tol = tol_;
    c.cost = std::move(cost);
    out_.push_back(std::move(c));
    return out_.back();
  }

 private:
  std::vector<OpCase>& out_;
  std::string family_;
  Tolerance tol_;
};

using V = const std::vector<Tensor>&;

void elementwise_cases(std::vector<OpCase>& out) {
  Builder b(out, "elementwise", exact_tol());
  b.add("add_bcast_channel", {"add", "broadcast"}, {in({2, 3, 4}), in({3, 1})}, [](V x) { return add(x[0], x[1]); })
      .perf = {{"simvp128.residual", {{10, 128, 16, 16}, {10, 128, 16, 16}}, "demo SimVP translator residual h + mlp(h)"},
               {"unet32.bias", {{10, 32, 64, 64}, {32, 1, 1}}, "paper U-Net conv bias over a (10, 32, 64, 64) map"}};
  b.add("add_both_broadcast", {"add", "broadcast"}, {in({4, 1, 3}), in({1, 5, 1})}, [](V x) { return add(x[0], x[1]); });
  b.add("sub_bcast_last", {"sub", "broadcast"}, {in({2, 3, 5}), in({5})}, [](V x) { return sub(x[0], x[1]); });
  b.add("sub_scalar_0d", {"sub", "broadcast:0d"}, {in({3, 4}), in({})}, [](V x) { return sub(x[0], x[1]); });
  b.add("mul_rank_extend", {"mul", "broadcast"}, {in({2, 1, 7}), in({3, 1})}, [](V x) { return mul(x[0], x[1]); });
  b.add("mul_same_batch1", {"mul", "batch1"}, {in({1, 3, 4, 4}), in({1, 3, 4, 4})}, [](V x) { return mul(x[0], x[1]); })
      .perf = {{"simvp512.gate", {{10, 512, 16, 16}, {10, 512, 16, 16}}, "paper SimVP gated block attn * u"}};
  b.add("div_bcast", {"div", "broadcast"}, {in({2, 3, 5}), in({3, 1}, Fill::away_from_zero)},
        [](V x) { return div(x[0], x[1]); });
  b.add("div_0d_numerator", {"div", "broadcast:0d"}, {in({}), in({7}, Fill::away_from_zero)},
        [](V x) { return div(x[0], x[1]); });
  b.add("div_transposed", {"div", "strided"}, {in({5, 3}), in({3, 5}, Fill::away_from_zero)},
        [](V x) { return div(x[0].transpose(0, 1), x[1]); });
  b.add("add_scalar", {"add_scalar"}, {in({5, 7})}, [](V x) { return add_scalar(x[0], 0.7); });
  b.add("mul_scalar", {"mul_scalar"}, {in({13})}, [](V x) { return mul_scalar(x[0], -1.3); });
  b.add("scalar_operators", {"add_scalar", "mul_scalar", "operators"}, {in({3, 1, 5})},
        [](V x) { return 2.5 * x[0] + 0.25 - x[0] * x[0]; });
}

void unary_cases(std::vector<OpCase>& out) {
  Builder b(out, "unary", transcendental_tol());
  const Tolerance ex = exact_tol();
  b.add("neg", {"neg"}, {in({3, 5})}, [](V x) { return neg(x[0]); }).tol = ex;
  b.add("exp", {"exp"}, {in({3, 5})}, [](V x) { return exp(x[0]); });
  b.add("exp_transposed", {"exp", "strided"}, {in({4, 3})}, [](V x) { return exp(x[0].transpose(0, 1)); });
  b.add("log", {"log"}, {in({37}, Fill::positive)}, [](V x) { return log(x[0]); });
  b.add("sqrt", {"sqrt"}, {in({3, 5}, Fill::positive)}, [](V x) { return sqrt(x[0]); });
  b.add("abs", {"abs"}, {in({3, 5}, Fill::away_from_zero)}, [](V x) { return abs(x[0]); }).tol = ex;
  b.add("square", {"square"}, {in({2, 3, 3})}, [](V x) { return square(x[0]); }).tol = ex;
  b.add("pow_scalar_frac", {"pow_scalar"}, {in({3, 5}, Fill::positive)}, [](V x) { return pow_scalar(x[0], 1.7); });
  b.add("pow_scalar_cube", {"pow_scalar"}, {in({11})}, [](V x) { return pow_scalar(x[0], 3.0); });
  b.add("tanh", {"tanh"}, {in({3, 5}, Fill::normal, 2.0)}, [](V x) { return tanh(x[0]); });
  b.add("sigmoid", {"sigmoid"}, {in({3, 5}, Fill::normal, 3.0)}, [](V x) { return sigmoid(x[0]); });
  b.add("relu", {"relu"}, {in({3, 5}, Fill::away_from_zero)}, [](V x) { return relu(x[0]); }).tol = ex;
  OpCase& leaky = b.add("leaky_relu", {"leaky_relu"}, {in({3, 5}, Fill::away_from_zero)}, [](V x) { return leaky_relu(x[0], 0.1); });
  leaky.tol = ex;
  leaky.perf = {{"unet32.inc", {{10, 32, 64, 64}}, "paper U-Net ConvBNAct activation after inc"}};
  b.add("silu", {"silu"}, {in({3, 5}, Fill::normal, 3.0)}, [](V x) { return silu(x[0]); })
      .perf = {{"simvp16.enc0", {{100, 16, 64, 64}}, "demo teacher encoder ConvGNAct activation @64 (B*T = 100)"}};
  b.add("gelu", {"gelu"}, {in({3, 5}, Fill::normal, 3.0)}, [](V x) { return gelu(x[0]); })
      .perf = {{"simvp512.fc1", {{10, 1024, 16, 16}}, "paper SimVP translator MLP GELU after fc1"},
               {"alternet256.fc1", {{10, 256, 512}}, "paper AlterNet MLP GELU after fc1"}};
  b.add("gelu_batch1_offset", {"gelu", "strided"}, {in({1, 9})}, [](V x) { return gelu(x[0].slice(1, 1, 9)); });
}

void reduce_cases(std::vector<OpCase>& out) {
  Builder b(out, "reduce", reduce_tol());
  b.add("sum_all", {"sum", "sum:all"}, {in({2, 3, 5})}, [](V x) { return sum(x[0]); }, per_input(1));
  b.add("mean_all", {"mean", "mean:all"}, {in({7})}, [](V x) { return mean(x[0]); }, per_input(1))
      .perf = {{"frames64", {{10, 10, 64, 64}}, "the mean of a loss over a batch of output frames (10, 10, 64, 64)"}};
  b.add("sum_dim1", {"sum", "sum:dims"}, {in({2, 3, 4})}, [](V x) { return sum(x[0], {1}); }, per_input(1));
  OpCase& dims02 = b.add("sum_dims02_keepdim", {"sum", "sum:dims"}, {in({2, 3, 4})},
                         [](V x) { return sum(x[0], {0, 2}, true); }, per_input(1));
  dims02.note = "non-adjacent reduced dims: the CUDA path permutes first";
  dims02.perf = {{"unet32.channel_sums", {{10, 32, 4096}}, "per-channel sums of a paper U-Net map (10, 32, 64*64)"}};
  b.add("mean_dims02_keepdim", {"mean", "mean:dims"}, {in({2, 3, 4})}, [](V x) { return mean(x[0], {0, 2}, true); },
        per_input(1));
  b.add("mean_last_dim", {"mean", "mean:dims"}, {in({3, 5})}, [](V x) { return mean(x[0], {-1}); }, per_input(1));
  b.add("sum_transposed", {"sum", "sum:dims", "strided"}, {in({4, 3})}, [](V x) { return sum(x[0].transpose(0, 1), {0}); },
        per_input(1));
  b.add("sum_batch1", {"sum", "sum:dims", "batch1"}, {in({1, 5, 3})}, [](V x) { return sum(x[0], {0, 2}); },
        per_input(1));
}

void broadcast_cases(std::vector<OpCase>& out) {
  Builder b(out, "broadcast", reduce_tol());
  b.add("expand_rank_extend", {"expand"}, {in({3, 1, 4})}, [](V x) { return expand(x[0], {2, 3, 5, 4}); }).tol =
      exact_tol();
  b.add("expand_scalar_like", {"expand", "batch1"}, {in({1})}, [](V x) { return expand(x[0], {3, 2}); }).tol =
      exact_tol();
  b.add("sum_to_keepdim", {"sum_to"}, {in({2, 3, 4})}, [](V x) { return sum_to(x[0], {3, 1}); }, per_input(1));
  b.add("sum_to_last", {"sum_to"}, {in({2, 3, 4})}, [](V x) { return sum_to(x[0], {4}); }, per_input(1));
  b.add("sum_to_bias", {"sum_to"}, {in({2, 3, 4, 5})}, [](V x) { return sum_to(x[0], {x[0].size(1), 1, 1}); },
        per_input(1))
      .perf = {{"unet32.bias_grad", {{10, 32, 64, 64}}, "a conv bias's gradient: add's backward over a paper U-Net map"}};
}

void join_cases(std::vector<OpCase>& out) {
  Builder b(out, "join", exact_tol());
  b.add("cat_dim1", {"cat"}, {in({2, 3, 4}), in({2, 2, 4})}, [](V x) { return cat({x[0], x[1]}, 1); }, kNoFlops)
      .perf = {{"unet8.skip0", {{10, 8, 64, 64}, {10, 8, 64, 64}}, "demo U-Net dec2 input: up2 output and skip s0"},
               {"unet32.skip0", {{10, 32, 64, 64}, {10, 32, 64, 64}}, "paper U-Net dec2 input: up2 output and skip s0"}};
  b.add("cat_last_three", {"cat"}, {in({3, 2}), in({3, 1}), in({3, 4})}, [](V x) { return cat({x[0], x[1], x[2]}, -1); },
        kNoFlops);
  b.add("cat_batch1_dim0", {"cat", "batch1"}, {in({1, 3}), in({2, 3})}, [](V x) { return cat({x[0], x[1]}, 0); },
        kNoFlops);
  b.add("cat_strided", {"cat", "strided"}, {in({3, 2}), in({2, 2})}, [](V x) { return cat({x[0].transpose(0, 1), x[1]}, 1); },
        kNoFlops);
  b.add("stack_dim0", {"stack"}, {in({2, 3}), in({2, 3})}, [](V x) { return stack({x[0], x[1]}, 0); }, kNoFlops);
  b.add("stack_last", {"stack"}, {in({2, 3}), in({2, 3}), in({2, 3})}, [](V x) { return stack({x[0], x[1], x[2]}, 2); },
        kNoFlops);
}

void view_cases(std::vector<OpCase>& out) {
  Builder b(out, "view", exact_tol());
  b.add("reshape_view", {"reshape"}, {in({2, 3, 4})}, [](V x) { return x[0].reshape({4, -1}); }, kNoFlops);
  b.add("permute_reshape", {"permute", "reshape"}, {in({2, 3, 4})}, [](V x) { return x[0].permute({2, 0, 1}).reshape({4, 6}); },
        kNoFlops)
      .note = "reshape of a permuted view copies";
  b.add("permute", {"permute"}, {in({2, 3, 4})}, [](V x) { return x[0].permute({1, 2, 0}); }, kNoFlops);
  b.add("merge_heads", {"permute", "reshape"}, {in({2, 3, 4, 5})},
        [](V x) {
          const Tensor& t = x[0];
          return t.permute({0, 2, 1, 3}).reshape({t.size(0), t.size(2), t.size(1) * t.size(3)});
        },
        kNoFlops)
      .perf = {{"alternet256.heads", {{10, 8, 256, 32}}, "paper AlterNet merge heads (B, h, N, d) -> (B, N, h*d): a copy"}};
  b.add("slice_step2", {"slice"}, {in({2, 3, 5})}, [](V x) { return x[0].slice(2, 1, 5, 2); }, kNoFlops);
  b.add("select_last", {"select"}, {in({2, 3, 4})}, [](V x) { return x[0].select(1, -1); }, kNoFlops);
  b.add("transpose_contiguous", {"transpose", "contiguous"}, {in({3, 5})}, [](V x) { return x[0].transpose(0, 1).contiguous(); },
        kNoFlops);
  b.add("squeeze_unsqueeze_flatten", {"squeeze", "unsqueeze", "flatten"}, {in({2, 3, 4})},
        [](V x) { return x[0].unsqueeze(1).flatten(2, 3).squeeze(1); }, kNoFlops);
  b.add("slice_reshape_copy", {"slice", "reshape", "contiguous"}, {in({2, 4, 3})},
        [](V x) { return x[0].slice(1, 1, 3).reshape({-1}); }, kNoFlops)
      .note = "not viewable: reshape copies";
  b.add("clone_select_batch1", {"select", "clone", "batch1"}, {in({1, 3, 5})}, [](V x) { return x[0].select(0, 0).clone(); },
        kNoFlops);
}

void linalg_cases(std::vector<OpCase>& out) {
  Builder b(out, "linalg", dot_tol());
  b.add("matmul_batched", {"matmul", "matmul:batched"}, {in({2, 3, 5}), in({2, 5, 4})}, [](V x) { return matmul(x[0], x[1]); },
        kGemm)
      .perf = {{"alternet256.scores", {{80, 256, 32}, {80, 32, 256}},
                "paper AlterNet q k^T per (batch, head) as unfused attention computes it"}};
  b.add("matmul_shared_b", {"matmul", "matmul:shared_b"}, {in({2, 3, 5}), in({5, 4})}, [](V x) { return matmul(x[0], x[1]); },
        kGemm);
  b.add("matmul_2d_odd", {"matmul"}, {in({7, 3}), in({3, 5})}, [](V x) { return matmul(x[0], x[1]); }, kGemm);
  b.add("matmul_batch1_4d", {"matmul", "matmul:batched", "batch1"}, {in({1, 2, 3, 4}), in({1, 2, 4, 3})},
        [](V x) { return matmul(x[0], x[1]); }, kGemm);
  b.add("matmul_transposed_a", {"matmul", "strided"}, {in({2, 5, 3}), in({2, 5, 4})},
        [](V x) { return matmul(x[0].transpose(1, 2), x[1]); },
        [](const Shapes& s, const Shape& o) { return 2 * count(o) * double(s[0][1]); });
  b.add("linear_bias", {"linear", "linear:bias"}, {in({2, 3, 5}), in({6, 5}), in({6})},
        [](V x) { return linear(x[0], x[1], x[2]); }, kGemm)
      .perf = {{"alternet256.qkv", {{10, 256, 256}, {256, 256}, {256}}, "paper AlterNet q/k/v/out Linear: 10 x 256 tokens"},
               {"alternet256.fc1", {{10, 256, 256}, {512, 256}, {512}}, "paper AlterNet MLP fc1: 256 -> 512"}};
  b.add("linear_no_bias", {"linear", "linear:no_bias"}, {in({4, 5}), in({3, 5})}, [](V x) { return linear(x[0], x[1]); },
        kGemm);
  b.add("linear_batch1", {"linear", "linear:bias", "batch1"}, {in({1, 7}), in({2, 7}), in({2})},
        [](V x) { return linear(x[0], x[1], x[2]); }, kGemm);
}

void conv_cases(std::vector<OpCase>& out) {
  Builder b(out, "conv", dot_tol());
  b.add("conv2d_pad1", {"conv2d", "conv2d:padding"}, {in({2, 3, 5, 6}), in({4, 3, 3, 3}), in({4})},
        [](V x) { return conv2d(x[0], x[1], x[2], Conv2dOptions::make(1, 1)); }, kConv);
  b.add("conv2d_stride2_groups2", {"conv2d", "conv2d:stride", "conv2d:padding", "conv2d:groups"},
        {in({2, 4, 5, 6}), in({6, 2, 3, 3}), in({6})},
        [](V x) { return conv2d(x[0], x[1], x[2], Conv2dOptions::make(2, 1, 1, 2)); }, kConv);
  b.add("conv2d_dilation2_no_bias", {"conv2d", "conv2d:dilation"}, {in({1, 2, 7, 6}), in({3, 2, 3, 3})},
        [](V x) { return conv2d(x[0], x[1], Tensor(), Conv2dOptions::make(1, 2, 2)); }, kConv);
  b.add("conv2d_depthwise", {"conv2d", "conv2d:depthwise", "conv2d:groups"}, {in({2, 3, 5, 5}), in({3, 1, 3, 3}), in({3})},
        [](V x) { return conv2d(x[0], x[1], x[2], Conv2dOptions::make(1, 1, 1, 3)); }, kConv);
  b.add("conv2d_1x1_batch1", {"conv2d", "batch1"}, {in({1, 4, 3, 5}), in({2, 4, 1, 1}), in({2})},
        [](V x) { return conv2d(x[0], x[1], x[2], Conv2dOptions::make(1, 0)); }, kConv);
  b.add("conv2d_rect_stride", {"conv2d", "conv2d:stride", "conv2d:padding"}, {in({1, 2, 5, 6}), in({3, 2, 3, 2}), in({3})},
        [](V x) {
          Conv2dOptions o;
          o.stride_h = 2, o.stride_w = 1, o.pad_h = 1, o.pad_w = 0;
          return conv2d(x[0], x[1], x[2], o);
        },
        kConv)
      .note = "unequal strides, paddings and kernel sides";
  b.add("conv_transpose2d_stride2_outpad1", {"conv_transpose2d", "conv_transpose2d:output_padding", "conv_transpose2d:stride"},
        {in({2, 4, 5, 6}), in({4, 3, 4, 4}), in({3})},
        [](V x) { return conv_transpose2d(x[0], x[1], x[2], Conv2dOptions::make(2, 1, 1, 1, 1)); }, kConvT);
  b.add("conv_transpose2d_groups2", {"conv_transpose2d", "conv_transpose2d:groups", "conv_transpose2d:output_padding"},
        {in({1, 4, 3, 3}), in({4, 2, 3, 3}), in({4})},
        [](V x) { return conv_transpose2d(x[0], x[1], x[2], Conv2dOptions::make(2, 1, 1, 2, 1)); }, kConvT);
  b.add("conv_transpose2d_stride1_no_bias", {"conv_transpose2d"}, {in({1, 2, 4, 3}), in({2, 3, 3, 3})},
        [](V x) { return conv_transpose2d(x[0], x[1], Tensor(), Conv2dOptions::make(1, 1)); }, kConvT);
  b.add("conv_transpose2d_dilation2", {"conv_transpose2d", "conv_transpose2d:dilation", "conv_transpose2d:output_padding"},
        {in({1, 2, 3, 3}), in({2, 2, 3, 3}), in({2})},
        [](V x) { return conv_transpose2d(x[0], x[1], x[2], Conv2dOptions::make(2, 0, 2, 1, 1)); }, kConvT);
}

void norm_cases(std::vector<OpCase>& out) {
  Builder b(out, "norm", dot_tol());
  // Training mode updates the running buffers in place: fresh ones on the input's device per call.
  auto bn_train = [](V x, bool affine) {
    const int64_t C = x[0].size(1);
    Tensor rm = Tensor::zeros({C}, x[0].dtype(), x[0].device()), rv = Tensor::ones({C}, x[0].dtype(), x[0].device());
    return affine ? batch_norm2d(x[0], x[1], x[2], rm, rv, true) : batch_norm2d(x[0], Tensor(), Tensor(), rm, rv, true);
  };
  b.add("batch_norm2d_train", {"batch_norm2d", "batch_norm2d:train"}, {in({3, 4, 2, 3}), in({4}), in({4})},
        [bn_train](V x) { return bn_train(x, true); }, per_output(8));
  b.add("batch_norm2d_train_batch1", {"batch_norm2d", "batch_norm2d:train", "batch1"}, {in({1, 3, 3, 5}), in({3}), in({3})},
        [bn_train](V x) { return bn_train(x, true); }, per_output(8));
  b.add("batch_norm2d_train_no_affine", {"batch_norm2d", "batch_norm2d:train"}, {in({2, 3, 2, 2})},
        [bn_train](V x) { return bn_train(x, false); }, per_output(8));
  // Eval mode reads the running statistics (non-differentiable inputs 3 and 4).
  b.add("batch_norm2d_eval", {"batch_norm2d", "batch_norm2d:eval"},
        {in({2, 3, 2, 3}), in({3}), in({3}), fixed({3}), fixed({3}, Fill::positive)},
        [](V x) {
          Tensor rm = x[3], rv = x[4];
          return batch_norm2d(x[0], x[1], x[2], rm, rv, false);
        },
        per_output(2));
  b.add("group_norm_2groups", {"group_norm"}, {in({2, 4, 3, 3}), in({4}), in({4})},
        [](V x) { return group_norm(x[0], 2, x[1], x[2]); }, per_output(8));
  b.add("group_norm_odd_3groups", {"group_norm"}, {in({1, 6, 2, 3}), in({6}), in({6})},
        [](V x) { return group_norm(x[0], 3, x[1], x[2]); }, per_output(8));
  b.add("group_norm_instance", {"group_norm"}, {in({2, 3, 2, 2}), in({3}), in({3})},
        [](V x) { return group_norm(x[0], 3, x[1], x[2]); }, per_output(8))
      .note = "groups = channels (instance norm)";
  b.add("group_norm_1group_no_affine", {"group_norm"}, {in({2, 2, 3, 2})},
        [](V x) { return group_norm(x[0], 1, Tensor(), Tensor()); }, per_output(8));
  b.add("layer_norm", {"layer_norm"}, {in({3, 4, 5}), in({5}), in({5})}, [](V x) { return layer_norm(x[0], x[1], x[2]); },
        per_output(8));
  b.add("layer_norm_batch1", {"layer_norm", "batch1"}, {in({1, 7}), in({7}), in({7})},
        [](V x) { return layer_norm(x[0], x[1], x[2]); }, per_output(8));
  b.add("layer_norm_no_affine", {"layer_norm"}, {in({2, 3, 6})}, [](V x) { return layer_norm(x[0], Tensor(), Tensor()); },
        per_output(8));
}

void loss_cases(std::vector<OpCase>& out) {
  Builder b(out, "loss", loss_tol());
  b.add("mse_loss", {"mse_loss"}, {in({3, 4}), in({3, 4})}, [](V x) { return mse_loss(x[0], x[1]); }, per_input(3))
      .perf = {{"frames64", {{10, 10, 64, 64}, {10, 10, 64, 64}}, "training loss on a batch of output frames (10, 10, 64, 64)"}};
  b.add("mse_loss_batch1", {"mse_loss", "batch1"}, {in({1, 2, 3, 3}), fixed({1, 2, 3, 3})},
        [](V x) { return mse_loss(x[0], x[1]); }, per_input(3));
  b.add("l1_loss", {"l1_loss"}, {in({2, 3, 5}), in({2, 3, 5})}, [](V x) { return l1_loss(x[0], x[1]); }, per_input(3))
      .perf = {{"frames64", {{10, 10, 64, 64}, {10, 10, 64, 64}}, "L1 on a batch of output frames (10, 10, 64, 64)"}};
  OpCase& ab = b.add("ab_loss_margin1", {"ab_loss"}, {in({2, 3, 4}, Fill::normal, 1.5), fixed({2, 3, 4})},
                     [](V x) { return ab_loss(x[0], x[1], 1.0); }, per_input(5));
  ab.note = "the teacher is a label: no gradient";
  ab.perf = {{"kd.demo", {{10, 160, 16, 16}, {10, 160, 16, 16}}, "AB distillation on the demo latent tap (10, 10*16, 16, 16)"}};
  b.add("ab_loss_margin_half_batch1", {"ab_loss", "batch1"}, {in({1, 5, 3}, Fill::normal, 1.5), fixed({1, 5, 3})},
        [](V x) { return ab_loss(x[0], x[1], 0.5); }, per_input(5));
}

void attention_cases(std::vector<OpCase>& out) {
  Builder b(out, "attention", dot_tol());
  b.add("softmax_last", {"softmax"}, {in({3, 4, 5})}, [](V x) { return softmax(x[0], -1); }, per_output(4));
  b.add("softmax_dim0", {"softmax"}, {in({4, 3})}, [](V x) { return softmax(x[0], 0); }, per_output(4));
  b.add("softmax_transposed_mid", {"softmax", "strided"}, {in({3, 4, 5})}, [](V x) { return softmax(x[0].transpose(0, 2), 1); },
        per_output(4));
  b.add("softmax_batch1_wide", {"softmax", "batch1"}, {in({1, 9}, Fill::normal, 3.0)}, [](V x) { return softmax(x[0]); },
        per_output(4));
  b.add("attention_cross", {"multi_head_attention"}, {in({1, 2, 3, 3}), in({1, 2, 4, 3}), in({1, 2, 4, 3})},
        [](V x) { return multi_head_attention(x[0], x[1], x[2]); }, kAttention);
  b.add("attention_single_query", {"multi_head_attention"}, {in({2, 1, 1, 2}), in({2, 1, 2, 2}), in({2, 1, 2, 2})},
        [](V x) { return multi_head_attention(x[0], x[1], x[2]); }, kAttention);
  b.add("attention_odd_head_dim", {"multi_head_attention"}, {in({1, 1, 5, 5}), in({1, 1, 7, 5}), in({1, 1, 7, 5})},
        [](V x) { return multi_head_attention(x[0], x[1], x[2]); }, kAttention);
  b.add("attention_self_permuted", {"multi_head_attention", "strided"}, {in({1, 3, 2, 4})},
        [](V x) {
          const Tensor q = x[0].permute({0, 2, 1, 3});
          return multi_head_attention(q, q, q);
        },
        [](const Shapes& s, const Shape&) { return 4.0 * double(s[0][0] * s[0][2] * s[0][1] * s[0][1] * s[0][3]); })
      .note = "one input as q, k and v through a head-splitting permute";
}

void stochastic_cases(std::vector<OpCase>& out) {
  Builder b(out, "stochastic", exact_tol());
  // A fresh generator per call: the same mask on every call and on both devices (same Philox numbers).
  b.add("dropout_p03", {"dropout", "dropout:train"}, {in({4, 5})},
        [](V x) {
          Generator g(9);
          g.offset = 17;
          return dropout(x[0], 0.3, true, g);
        })
      .perf = {{"alternet256.mlp", {{10, 256, 512}}, "an AlterNet MLP hidden map (the presets train without dropout)"}};
  b.add("dropout_p05_odd", {"dropout", "dropout:train"}, {in({37})},
        [](V x) {
          Generator g(1234);
          return dropout(x[0], 0.5, true, g);
        });
  b.add("dropout_eval", {"dropout", "dropout:eval"}, {in({3, 4})},
        [](V x) {
          Generator g(3);
          return dropout(x[0], 0.5, false, g);
        },
        kNoFlops);
  b.add("drop_path_p05", {"drop_path", "drop_path:train"}, {in({6, 3, 2})},
        [](V x) {
          Generator g(5);
          return drop_path(x[0], 0.5, true, g);
        })
      .perf = {{"alternet256.tokens", {{10, 256, 256}}, "an AlterNet block output (the presets train without drop path)"}};
  b.add("drop_path_p03_strided", {"drop_path", "drop_path:train", "strided"}, {in({2, 5, 3})},
        [](V x) {
          Generator g(11);
          return drop_path(x[0].transpose(0, 1), 0.3, true, g);
        });
  b.add("drop_path_eval", {"drop_path", "drop_path:eval"}, {in({2, 3})},
        [](V x) {
          Generator g(3);
          return drop_path(x[0], 0.5, false, g);
        },
        kNoFlops);
}

void resample_cases(std::vector<OpCase>& out) {
  Builder b(out, "resample", resample_tol());
  OpCase& shuffle = b.add("pixel_shuffle_r2", {"pixel_shuffle"}, {in({1, 8, 2, 3})},
                          [](V x) { return pixel_shuffle(x[0], 2); }, kNoFlops);
  shuffle.tol = exact_tol();
  shuffle.perf = {{"up2.c32", {{10, 32, 32, 32}}, "a 2x upsampling of a 32-channel 32x32 map (not in the presets' models)"}};
  b.add("pixel_shuffle_r3", {"pixel_shuffle"}, {in({2, 9, 1, 2})}, [](V x) { return pixel_shuffle(x[0], 3); }, kNoFlops)
      .tol = exact_tol();
  b.add("upsample_bilinear2d_up", {"upsample_bilinear2d"}, {in({1, 2, 3, 4})},
        [](V x) { return upsample_bilinear2d(x[0], 5, 7); }, per_output(7));
  b.add("upsample_bilinear2d_down", {"upsample_bilinear2d"}, {in({2, 1, 4, 5})},
        [](V x) { return upsample_bilinear2d(x[0], 2, 3); }, per_output(7));
  b.add("upsample_bilinear2d_transposed", {"upsample_bilinear2d", "strided", "batch1"}, {in({1, 1, 3, 2})},
        [](V x) { return upsample_bilinear2d(x[0].transpose(2, 3), 6, 6); }, per_output(7));
}

void fft_cases(std::vector<OpCase>& out) {
  Builder b(out, "fft", fft_tol());
  const std::pair<const char*, FftNorm> norms[] = {
      {"ortho", FftNorm::ortho}, {"backward", FftNorm::backward}, {"forward", FftNorm::forward}};
  for (const auto& [nname, norm] : norms) {
    const FftNorm n = norm;
    b.add(std::string("rfft2_") + nname + "_odd_w", {"rfft2", std::string("rfft2:") + nname}, {in({2, 3, 5})},
          [n](V x) { return rfft2(x[0], n); }, kRfft);
    b.add(std::string("irfft2_") + nname + "_even_w", {"irfft2", std::string("irfft2:") + nname}, {in({2, 3, 3, 2})},
          [n](V x) { return irfft2(x[0], 4, n); }, kIrfft);
  }
  b.add("rfft2_ortho_even_w_batch1", {"rfft2", "rfft2:ortho", "batch1"}, {in({1, 4, 4})}, [](V x) { return rfft2(x[0]); },
        kRfft);
  b.add("irfft2_backward_odd_w", {"irfft2", "irfft2:backward"}, {in({2, 4, 3, 2})},
        [](V x) { return irfft2(x[0], 5, FftNorm::backward); }, kIrfft);
  b.add("rfft2_irfft2_transposed", {"rfft2", "irfft2", "rfft2:ortho", "irfft2:ortho", "strided"}, {in({1, 3, 4})},
        [](V x) { return irfft2(rfft2(x[0].transpose(1, 2)), 3); },
        [](const Shapes& s, const Shape&) { return 2 * fft_flops(s[0]); });
}

void spectral_cases(std::vector<OpCase>& out) {
  Builder b(out, "spectral", spectral_tol());
  b.add("spectral_kd_plain", {"spectral_kd_loss", "spectral_kd_loss:plain"}, {in({1, 2, 4, 4}), fixed({1, 2, 4, 4}, Fill::normal, 0.7)},
        [](V x) { return spectral_kd_loss(x[0], x[1], SpectralKDOptions{}).loss; }, kSpectral)
      .note = "the teacher is a target: no gradient";
  b.add("spectral_kd_alpha_two_cutoffs_odd", {"spectral_kd_loss", "spectral_kd_loss:alpha"},
        {in({2, 1, 5, 6}), fixed({2, 1, 5, 6}, Fill::normal, 0.7)},
        [](V x) {
          SpectralKDOptions o;
          o.cutoffs = {0.25, 0.5};
          o.alpha = 2.0;
          return spectral_kd_loss(x[0], x[1], o).loss;
        },
        kSpectral);
  b.add("spectral_kd_band_weights", {"spectral_kd_loss", "spectral_kd_loss:band_weights"},
        {in({1, 2, 6, 5}), fixed({1, 2, 6, 5}, Fill::normal, 0.7)},
        [](V x) {
          SpectralKDOptions o;
          o.cutoffs = {0.3};
          o.band_weights = {0.5, 2.0};
          return spectral_kd_loss(x[0], x[1], o).loss;
        },
        kSpectral);
  b.add("spectral_kd_adaptive", {"spectral_kd_loss", "spectral_kd_loss:adaptive"},
        {in({2, 2, 6, 6}), fixed({2, 2, 6, 6}, Fill::normal, 0.7)},
        [](V x) {
          SpectralKDOptions o;
          o.cutoffs = {0.25, 0.5};
          o.adaptive = true;
          o.gamma = 0.5;
          return spectral_kd_loss(x[0], x[1], o).loss;
        },
        kSpectral)
      .note = "band weights from the teacher's spectrum (no gradient through them)";
}

// The nn modules the models are built from, constructed per call (a fixed generator, so the same
// weights every call), converted to the input's dtype and moved to its device: the input gradient
// is checked through the module's forward.
template <class M>
std::shared_ptr<M> placed(std::shared_ptr<M> m, const Tensor& like) {
  m->to(like.dtype());
  m->to(like.device());
  return m;
}

void module_cases(std::vector<OpCase>& out) {
  Builder b(out, "module", dot_tol());
  b.add("nn_conv2d_same", {"nn::Conv2d", "conv2d"}, {in({1, 3, 5, 4})},
        [](V x) {
          Generator g(77);
          return placed(std::make_shared<nn::Conv2d>(3, 4, 3, g), x[0])->forward(x[0]);
        },
        [](const Shapes&, const Shape& o) { return 2 * count(o) * 3 * 9; });
  b.add("nn_conv_transpose2d_up2", {"nn::ConvTranspose2d", "conv_transpose2d"}, {in({1, 4, 3, 3})},
        [](V x) {
          Generator g(78);
          return placed(std::make_shared<nn::ConvTranspose2d>(4, 2, 4, g, 2, 1), x[0])->forward(x[0]);
        },
        [](const Shapes& s, const Shape&) { return 2 * count(s[0]) * 2 * 16; });
  b.add("nn_linear", {"nn::Linear", "linear"}, {in({2, 5})},
        [](V x) {
          Generator g(79);
          return placed(std::make_shared<nn::Linear>(5, 3, g), x[0])->forward(x[0]);
        },
        [](const Shapes&, const Shape& o) { return 2 * count(o) * 5; });
  b.add("nn_batch_norm2d_train", {"nn::BatchNorm2d", "batch_norm2d", "batch_norm2d:train"}, {in({2, 3, 2, 3})},
        [](V x) { return placed(std::make_shared<nn::BatchNorm2d>(3), x[0])->forward(x[0]); }, per_output(8));
  // The norm modules take their size from the input, so the same case runs at its perf shape.
  b.add("nn_group_norm", {"nn::GroupNorm", "group_norm"}, {in({1, 4, 2, 3})},
        [](V x) { return placed(std::make_shared<nn::GroupNorm>(2, x[0].size(1)), x[0])->forward(x[0]); }, per_output(8))
      .perf = {{"simvp16.enc0", {{100, 16, 64, 64}}, "demo teacher encoder GroupNorm(2) module, built per call"}};
  b.add("nn_layer_norm", {"nn::LayerNorm", "layer_norm"}, {in({3, 6})},
        [](V x) { return placed(std::make_shared<nn::LayerNorm>(x[0].size(-1)), x[0])->forward(x[0]); }, per_output(8))
      .perf = {{"alternet256.fuse", {{10, 256, 256}}, "paper AlterNet fuse_norm LayerNorm module, built per call"}};
}

// Every op above has a CUDA branch in engine/src/ops_*.cpp (the ops that call require_cpu do so
// only when no input is on a CUDA device: conv's check_args, matmul); the views and
// pixel_shuffle are strided copies (copy_view), expand and the scalar ops are binary ops, and
// drop_path/dropout draw the CPU's Philox mask on the GPU. The CUDA-only limits (attention head
// dimension <= 128, spectral loss <= 32 bands and width >= 2, float32 only) are met by every
// case, so `cuda` stays true; a case outside them would set it false.
std::vector<OpCase> build() {
  std::vector<OpCase> cases;
  for (auto* add_family : {elementwise_cases, unary_cases, reduce_cases, broadcast_cases, join_cases, view_cases,
                           linalg_cases, conv_cases, norm_cases, loss_cases, attention_cases, stochastic_cases,
                           resample_cases, fft_cases, spectral_cases, module_cases})
    add_family(cases);
  for (OpCase& c : cases) {
    // Size the cost estimate from one float32 forward on the CPU (a case that cannot run fails
    // the registry test through setup_error).
    Shapes in_shapes;
    double in_elems = 0;
    for (const auto& s : c.inputs) in_shapes.push_back(s.shape), in_elems += count(s.shape);
    try {
      NoGradGuard ng;
      const Tensor y = c.fn(make_inputs(c, DType::f32));
      c.bytes = 4 * (in_elems + count(y.shape()));
      c.flops = c.cost(in_shapes, y.shape());
    } catch (const std::exception& e) {
      c.setup_error = e.what();
    }
  }
  return cases;
}

uint64_t name_seed(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: a case keeps its inputs when others are added
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

double max_abs_of(const Tensor& t) {
  double m = 0;
  for (double v : t.to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

double scaled_atol(double atol_rel, const Tensor& ref) {
  const double m = max_abs_of(ref);
  return atol_rel * (m > 0 ? m : 1.0);
}

}  // namespace

bool OpCase::has_grad_inputs() const {
  return std::any_of(inputs.begin(), inputs.end(), [](const InputSpec& s) { return s.differentiable; });
}

const std::vector<OpCase>& registry() {
  static const std::vector<OpCase> cases = build();
  return cases;
}

const std::vector<std::string>& families() {
  static const std::vector<std::string> f = {"elementwise", "unary", "reduce",    "broadcast",  "join",     "view",
                                             "linalg",      "conv",  "norm",      "loss",       "attention", "stochastic",
                                             "resample",    "fft",   "spectral",  "module"};
  return f;
}

const std::vector<std::string>& required_coverage() {
  static const std::vector<std::string> r = {
      // elementwise with broadcasting, scalar ops, every unary op
      "add", "sub", "mul", "div", "broadcast", "add_scalar", "mul_scalar", "neg", "exp", "log", "sqrt", "abs", "square",
      "pow_scalar", "tanh", "sigmoid", "relu", "leaky_relu", "silu", "gelu",
      // reductions, broadcasting copies, joins
      "sum:all", "sum:dims", "mean:all", "mean:dims", "expand", "sum_to", "cat", "stack",
      // linear algebra, convolution
      "matmul:batched", "matmul:shared_b", "linear:bias", "linear:no_bias", "conv2d:stride", "conv2d:padding",
      "conv2d:dilation", "conv2d:groups", "conv2d:depthwise", "conv_transpose2d", "conv_transpose2d:output_padding",
      // normalisation, losses
      "batch_norm2d:train", "batch_norm2d:eval", "group_norm", "layer_norm", "mse_loss", "l1_loss", "ab_loss",
      // network blocks
      "softmax", "multi_head_attention", "drop_path", "dropout", "pixel_shuffle", "upsample_bilinear2d",
      // spectral
      "rfft2:ortho", "rfft2:backward", "rfft2:forward", "irfft2:ortho", "irfft2:backward", "irfft2:forward",
      "spectral_kd_loss:plain", "spectral_kd_loss:band_weights", "spectral_kd_loss:adaptive",
      // views
      "reshape", "permute", "slice", "select", "transpose", "contiguous",
      // odd shapes
      "batch1", "strided"};
  return r;
}

std::vector<Tensor> make_inputs(const std::vector<InputSpec>& specs, const std::string& key, DType dtype) {
  std::vector<Tensor> out;
  const uint64_t base = name_seed(key);
  for (size_t k = 0; k < specs.size(); ++k) {
    const InputSpec& s = specs[k];
    out.push_back(filled(s.shape, s.fill, base + 7919 * k, dtype, s.scale));
  }
  return out;
}

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype) { return make_inputs(c.inputs, c.name, dtype); }

std::vector<bool> differentiable_mask(const OpCase& c) {
  std::vector<bool> m;
  for (const auto& s : c.inputs) m.push_back(s.differentiable);
  return m;
}

FdReport run_gradcheck(const OpCase& c) {
  return finite_difference_check(c.fn, make_inputs(c, DType::f64), differentiable_mask(c), c.tol.fd_tol, c.tol.fd_step);
}

std::vector<Comparison> run_backend(const OpCase& c, Device device) {
  const std::vector<Tensor> host = make_inputs(c, DType::f32);
  std::vector<Tensor> cin, din;
  for (size_t k = 0; k < host.size(); ++k) {
    Tensor a = host[k].clone(), b = host[k].to(device);
    if (c.inputs[k].differentiable) {
      a.set_requires_grad(true);
      b.set_requires_grad(true);
    }
    cin.push_back(a);
    din.push_back(b);
  }
  std::vector<Comparison> res;
  auto compare = [&](const std::string& what, const Tensor& got, const Tensor& ref, double rtol, double atol_rel) {
    Comparison r;
    r.what = what;
    r.rtol = rtol;
    if (!ref.defined()) {
      r.error = what + ": the CPU twin has no value";
    } else if (!got.defined()) {
      r.error = what + ": undefined on " + device.str();
    } else if (got.device() != device) {
      r.error = what + ": on " + got.device().str() + ", expected " + device.str();
    } else if (got.shape() != ref.shape()) {
      r.error = what + ": shape " + shape_str(got.shape()) + " vs the CPU's " + shape_str(ref.shape());
    } else {
      r.atol = scaled_atol(atol_rel, ref);
      r.ratio = tolerance_ratio(got, ref, rtol, r.atol);
    }
    res.push_back(r);
  };
  const Tensor oc = c.fn(cin), od = c.fn(din);
  compare("forward", od, oc, c.tol.fwd_rtol, c.tol.fwd_atol);
  if (!c.has_grad_inputs() || !res.back().error.empty()) return res;
  // The same random upstream gradient on both devices.
  const Tensor g = filled(oc.shape(), Fill::normal, name_seed(c.name) + 1, DType::f32);
  oc.backward(g);
  od.backward(g.to(device));
  for (size_t k = 0; k < host.size(); ++k)
    if (c.inputs[k].differentiable)
      compare("grad input " + std::to_string(k), din[k].grad(), cin[k].grad(), c.tol.grad_rtol, c.tol.grad_atol);
  return res;
}

double run_perf(const OpCase& c, Device device, int iterations) {
  if (iterations < 1) throw std::invalid_argument("run_perf: iterations must be >= 1");
  std::vector<Tensor> x = make_inputs(c, DType::f32);
  if (device.is_cuda())
    for (auto& t : x) t = t.to(device);
  NoGradGuard ng;
  auto sync = [&] {
    if (device.is_cuda()) cuda_synchronize(device.index);
  };
  for (int i = 0; i < 2; ++i) c.fn(x);  // warm-up: caches, allocator, plans
  sync();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) c.fn(x);
  sync();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / iterations;
}

}  // namespace sdkd::test::ops
