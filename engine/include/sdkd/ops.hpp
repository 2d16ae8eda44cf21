#pragma once
// Functional ops: the dispatch point. Each op checks its arguments (clear errors naming the
// op and the shapes), runs the kernel for the tensor's device and dtype, and records its
// backward when gradients are needed. All are differentiable unless noted.
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd {

// ---- elementwise, with NumPy broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, double s);
Tensor mul_scalar(const Tensor& a, double s);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor square(const Tensor& a);
Tensor pow_scalar(const Tensor& a, double p);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor leaky_relu(const Tensor& a, double slope = 0.01);
Tensor silu(const Tensor& a);
Tensor gelu(const Tensor& a);  // exact (erf) form, as PyTorch's default
// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p);
// the mask is element i -> uniform(gen.seed, stream, gen.offset + i) so it is thread-count free.
Tensor dropout(const Tensor& a, double p, bool training, Generator& gen);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }
inline Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }

// Shape `a` would have after broadcasting with `b`; throws naming both shapes otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Sums `a` down to `shape` (the adjoint of broadcasting).
Tensor sum_to(const Tensor& a, const Shape& shape);
Tensor expand(const Tensor& a, const Shape& shape);  // broadcast copy

// ---- reductions (accumulated in double) ----
Tensor sum(const Tensor& a);  // all elements -> scalar
Tensor mean(const Tensor& a);
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);

// ---- joining ----
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);

// ---- linear algebra ----
// a (..., M, K) @ b (..., K, N) with equal batch dims, or b (K, N) shared across the batch.
Tensor matmul(const Tensor& a, const Tensor& b);
// x (..., in) W^T + b with W (out, in), b (out) optional.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution (NCHW) ----
struct Conv2dOptions {
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
  int out_pad_h = 0, out_pad_w = 0;  // conv-transpose only
  static Conv2dOptions make(int stride, int pad, int dil = 1, int groups = 1, int out_pad = 0) {
    Conv2dOptions o;
    o.stride_h = o.stride_w = stride;
    o.pad_h = o.pad_w = pad;
    o.dil_h = o.dil_w = dil;
    o.groups = groups;
    o.out_pad_h = o.out_pad_w = out_pad;
    return o;
  }
};
// weight (C_out, C_in/groups, kH, kW), bias (C_out) optional.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o);
// weight (C_in, C_out/groups, kH, kW) as in PyTorch; the adjoint of conv2d.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o);

// ---- normalisation ----
// Training mode normalises with batch statistics and updates the running buffers in place
// (momentum as in PyTorch); eval mode uses the running buffers.
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta, double eps = 1e-5);
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps = 1e-5);  // last dim

// ---- losses and metrics ----
Tensor mse_loss(const Tensor& pred, const Tensor& target);  // mean over all elements
Tensor l1_loss(const Tensor& pred, const Tensor& target);
// Activation-Boundary loss (Heo et al., "Knowledge Transfer via Distillation of Activation
// Boundaries Formed by Hidden Neurons", AAAI 2019, eq. 4 with the squared hinge):
//   L = mean || rho(T) (.) relu(mu 1 - S) + (1 - rho(T)) (.) relu(mu 1 + S) ||^2,
// rho(T) = 1[T > 0] the teacher neuron's activation indicator, S the student's (adapted)
// pre-activation, mu the margin (finite, >= 0). The student is pushed above +mu where the
// teacher fires and below -mu where it does not. Normalisation (ours): divided by numel (the
// paper sums), so the scale is comparable to an MSE. The teacher is a label: no gradient.
Tensor ab_loss(const Tensor& student, const Tensor& teacher, double margin = 1.0);

}  // namespace sdkd
