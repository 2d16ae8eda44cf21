#pragma once
// Normalisation kernels on the GPU (float32): BatchNorm2d, GroupNorm and LayerNorm, forward and
// backward. The CUDA twins of kernels/cpu/norm.hpp, same layouts: NCHW with the spatial dims
// flattened to HW; LayerNorm normalises the last dimension D of a (rows, D) array.
// Plain C++ declarations (implemented in norm.cu); pointers are device pointers and every
// launch goes on the stream of the ExecContext passed first.
//
// Conventions (shared with the CPU twin through kernels/common/norm_shape.hpp):
// - gamma / beta may be null (meaning 1 / 0). mean / invstd are outputs of the forward pass
//   and inputs of the backward pass (invstd = 1 / sqrt(biased var + eps)), kept in double as
//   the forward computed them: rounded to float32 they cost the backward up to 5e-5 relative
//   in dgamma for inputs of mean 1000 and std 1.
// - Every output is OVERWRITTEN (dx, dgamma, dbeta may each be null: not computed).
// - Accuracy and determinism: every statistic and gradient sum is accumulated in double, per
//   thread, then combined by warp shuffles and fixed-order merges; on sm_80 / sm_90 double
//   arithmetic runs at half the float rate and these kernels are bound by memory traffic, so
//   double costs nothing measurable and keeps the sums as accurate as the CPU's. The
//   elementwise passes (y, dx) also evaluate their formula in double from float inputs, as the
//   CPU twin does, so both agree to about the final float rounding. No atomics anywhere: the
//   order of every sum depends only on the sizes, so results are bitwise reproducible on one
//   device.
// - BatchNorm and GroupNorm take one block per (plane, chunk) for their partial sums, which
//   go to a launch-local Workspace of ctx; LayerNorm takes one warp per row up to D = 1024,
//   one block per row beyond, and a workspace only for dgamma / dbeta (per-chunk partials,
//   then an ordered pass over the chunks).
#include <cstdint>

#include "kernels/common/norm_shape.hpp"
#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

using kern::NormBackwardArgs;
using kern::NormForwardArgs;
using kern::NormKind;
using kern::NormShape;

// BatchNorm training mode needs N * HW > 1 (as PyTorch); eval mode writes invstd from the
// running variance (the eval backward's dx = gamma * invstd * dy).
void norm_forward(const ExecContext& ctx, const NormShape& shape, const NormForwardArgs<float>& args);
void norm_backward(const ExecContext& ctx, const NormShape& shape, const NormBackwardArgs<float>& args);

}  // namespace sdkd::gpu
