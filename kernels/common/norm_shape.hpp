#pragma once
// The normalisation op's parameters and buffers, one set for both backends: the engine fills
// them once (engine/src/ops_norm.cpp) and hands the same values to cpu::norm_forward /
// cpu::norm_backward or to their CUDA twins (kernels/cpu/norm.hpp, kernels/cuda/norm.hpp).
//
// Write contract, the same on every backend: forward outputs (y and the saved statistics) and
// backward outputs (dx, dgamma, dbeta) are OVERWRITTEN, never accumulated into; a null output
// is not computed. Gradients of a shared parameter are summed by the autograd engine.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::kern {

enum class NormKind { batch, group, layer };

struct NormShape {
  NormKind kind = NormKind::batch;
  // NCHW with the spatial dims flattened to HW. LayerNorm normalises the last dimension D of
  // a (rows, D) array and is described as N = rows, C = 1, HW = D.
  int64_t N = 0, C = 0, HW = 0;
  int64_t G = 1;          // GroupNorm's groups (1 otherwise)
  double eps = 1e-5;
  bool training = true;   // BatchNorm: batch statistics (true) or the running ones (false)
  double momentum = 0.1;  // BatchNorm training: running update r = (1 - m) r + m batch

  // Length of gamma, beta and their gradients.
  int64_t affine_size() const { return kind == NormKind::layer ? HW : C; }
  // Length of the saved mean and invstd: per channel, per (sample, group) or per row.
  int64_t stats_size() const { return kind == NormKind::batch ? C : kind == NormKind::group ? N * G : N; }
};

// Forward buffers. gamma / beta may be null (1 / 0). mean / invstd (stats_size() doubles,
// invstd = 1 / sqrt(biased var + eps)) are written for the backward; in BatchNorm eval mode
// only invstd is written, from the running variance, and mean is not touched. running_mean /
// running_var: BatchNorm only, both or neither; read in eval mode, updated in training mode
// (with the unbiased variance, as PyTorch).
template <class T>
struct NormForwardArgs {
  const T* x = nullptr;
  const T* gamma = nullptr;
  const T* beta = nullptr;
  T* y = nullptr;
  double* mean = nullptr;
  double* invstd = nullptr;
  T* running_mean = nullptr;
  T* running_var = nullptr;
};

// Backward buffers: mean / invstd as the forward saved them (for BatchNorm eval mode, the
// running mean in double and the eval invstd). dx, dgamma, dbeta may each be null.
template <class T>
struct NormBackwardArgs {
  const T* dy = nullptr;
  const T* x = nullptr;
  const T* gamma = nullptr;
  const double* mean = nullptr;
  const double* invstd = nullptr;
  T* dx = nullptr;
  T* dgamma = nullptr;
  T* dbeta = nullptr;
};

}  // namespace sdkd::kern
