#pragma once
// Normalisation kernels on the GPU (float32): BatchNorm2d, GroupNorm and LayerNorm, forward and
// backward. The CUDA twins of kernels/cpu/norm.hpp, same layouts: NCHW with the spatial dims
// flattened to HW; LayerNorm normalises the last dimension D of a (rows, D) array.
// Plain C++ declarations (implemented in norm.cu); pointers are device pointers and every
// launch goes on the current device's stream.
//
// Conventions (differences from the CPU twin are marked):
// - gamma / beta may be null (meaning 1 / 0). save_mean / save_invstd are outputs of the
//   forward pass and inputs of the backward pass (invstd = 1 / sqrt(biased var + eps)), kept
//   in double as the forward computed them: rounded to float32 they cost the backward up to
//   5e-5 relative in dgamma for inputs of mean 1000 and std 1.
// - Backward: dx, dgamma, dbeta may each be null (not computed). Unlike the CPU twin, dgamma and
//   dbeta are OVERWRITTEN, not accumulated: the engine always passes fresh buffers.
// - Accuracy and determinism: every statistic and gradient sum is accumulated in double, per
//   thread, then combined by warp shuffles and fixed-order merges; on sm_80 / sm_90 double
//   arithmetic runs at half the float rate and these kernels are bound by memory traffic, so
//   double costs nothing measurable and keeps the sums as accurate as the CPU's. The
//   elementwise passes (y, dx) also evaluate their formula in double from float inputs, as the
//   CPU twin does, so both agree to about the final float rounding. No atomics anywhere: the
//   order of every sum depends only on the sizes, so results are bitwise reproducible on one
//   device.
// - `workspace` is scratch device memory of at least the returned number of doubles, allocated
//   by the caller (the engine takes it from the caching allocator).
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::gpu {

// ---- BatchNorm2d ----
int64_t batch_norm_workspace(int64_t N, int64_t C, int64_t HW);

// Training mode: statistics per channel over (N, HW), normalised with the biased variance; when
// running_mean / running_var are given they are updated as r = (1 - m) * r + m * batch with the
// unbiased variance (PyTorch). Needs N * HW > 1.
void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, int64_t N,
                              int64_t C, int64_t HW, double eps, double* save_mean, double* save_invstd,
                              float* running_mean, float* running_var, double momentum, double* workspace);

// Evaluation mode: normalises with the running statistics. save_invstd (C values, required)
// receives 1 / sqrt(running_var + eps) for the eval-mode backward. Uses batch_norm_workspace.
void batch_norm_forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t N, int64_t C, int64_t HW, double eps,
                             double* save_invstd, double* workspace);

// training = true: the gradient flows through the batch statistics (mean / invstd saved by the
// training forward). training = false: eval mode, y is an affine map of x per channel, so
// dx = gamma * invstd * dy (mean / invstd are the running mean and the eval invstd).
void batch_norm_backward(const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training, double* workspace);

// ---- GroupNorm ----
// Channels split into G groups of C / G; statistics per (n, g) over (C / G) * HW, affine per
// channel. save_mean / save_invstd hold N * G values, index n * G + g.
int64_t group_norm_workspace(int64_t N, int64_t C, int64_t HW, int64_t G);

void group_norm_forward(const float* x, const float* gamma, const float* beta, float* y, int64_t N, int64_t C,
                        int64_t HW, int64_t G, double eps, double* save_mean, double* save_invstd, double* workspace);

void group_norm_backward(const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                         int64_t HW, int64_t G, double* workspace);

// ---- LayerNorm over the last dimension ----
// One warp per row up to D = 1024, one block per row beyond. The forward needs no workspace.
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t D,
                        double eps, double* save_mean, double* save_invstd);

// dx in one pass per row (both row sums, then dx). dgamma / dbeta are column sums over rows:
// per-chunk partials, then an ordered pass over the chunks (no atomics).
int64_t layer_norm_backward_workspace(int64_t rows, int64_t D);
void layer_norm_backward(const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t D,
                         double* workspace);

}  // namespace sdkd::gpu
