#pragma once
// Normalisation kernels on raw pointers (CPU): BatchNorm2d, GroupNorm and LayerNorm, forward
// and backward, for T = float or double. Layouts: NCHW with the spatial dims flattened to HW;
// LayerNorm normalises the last dimension D of a (rows, D) array.
//
// Conventions shared by every function:
// - gamma / beta may be null (meaning 1 / 0). save_mean / save_invstd are required outputs of
//   the forward pass and inputs of the backward pass (invstd = 1 / sqrt(biased var + eps)),
//   double for every T: the statistics are computed in double, and rounding them to float
//   costs the float32 backward up to 5e-5 relative in dgamma for inputs of mean 1000, std 1.
// - Backward: dx, dgamma, dbeta may each be null (not computed) and are OVERWRITTEN, as on
//   CUDA (kernels/common/norm_shape.hpp); the autograd engine sums the gradients of a shared
//   parameter.
// - Statistics and gradient sums accumulate in double. Every reduction has a fixed order that
//   does not depend on the number of OpenMP threads, so results are bitwise reproducible.
#include <cstdint>

#include "kernels/common/norm_shape.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

// The op's entry points (what the engine calls): the kernel of s.kind, in s.training's mode,
// with the buffers of kernels/common/norm_shape.hpp. BatchNorm eval also writes a.invstd.
template <class T>
void norm_forward(const kern::NormShape& s, const kern::NormForwardArgs<T>& a);
template <class T>
void norm_backward(const kern::NormShape& s, const kern::NormBackwardArgs<T>& a);

// y = a[c] y + m[c] x + b[c] in place, per channel c of NCHW (x null: no x term), in double per
// element: sync_batch_norm2d's corrections from a rank's statistics to the group's, one pass.
template <class T>
void channel_affine(T* y, const T* x, int64_t N, int64_t C, int64_t HW, const double* a, const double* m,
                    const double* b);

// The kernels behind them, one per kind and mode.

// BatchNorm2d, training mode: statistics per channel over (N, HW). Normalises with the biased
// variance; the running update uses the unbiased one (PyTorch): r = (1 - m) * r + m * batch.
// Needs N * HW > 1 (one value per channel has no variance, as in PyTorch).
template <class T>
void batch_norm_forward_train(const T* x, const T* gamma, const T* beta, T* y, int64_t N, int64_t C,
                              int64_t HW, double eps, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, double momentum);

// BatchNorm2d, evaluation mode: normalises with the running statistics.
template <class T>
void batch_norm_forward_eval(const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, int64_t N, int64_t C, int64_t HW,
                             double eps);

// training = true: the gradient flows through the batch mean and variance too. training =
// false (eval mode): dx = gamma * invstd * dy, with save_mean / save_invstd the running mean
// and 1 / sqrt(running var + eps); dgamma / dbeta as in training mode (the CUDA twin's rule).
template <class T>
void batch_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training = true);

// GroupNorm: channels split into G groups of C / G; statistics per (n, g) over (C / G) * HW,
// affine per channel. save_mean / save_invstd hold N * G values, index n * G + g.
template <class T>
void group_norm_forward(const T* x, const T* gamma, const T* beta, T* y, int64_t N, int64_t C,
                        int64_t HW, int64_t G, double eps, double* save_mean, double* save_invstd);

template <class T>
void group_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, int64_t G);

// LayerNorm over the last dimension: statistics per row, affine per column (gamma, beta: D).
template <class T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, int64_t rows, int64_t D,
                        double eps, double* save_mean, double* save_invstd);

template <class T>
void layer_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t rows, int64_t D);

}  // namespace sdkd::cpu
