#pragma once
// Deterministic sums on the GPU: sum over the middle axis of a contiguous [outer, red, inner]
// array, and the mean squared / absolute error with its gradient. Plain C++ declarations
// (implemented in reduce.cu); device pointers, float32 data, the stream of the ExecContext
// passed first; split sums keep their partials in a launch-local Workspace of that context.
//
// Accumulation: every thread sums in double and partial sums are combined in double, so the
// float result is the correctly rounded value of a double sum in almost every case (the CPU
// twin also accumulates in double). No atomics: each partial sum has a fixed owner and the
// partials are combined in a fixed order that depends only on the sizes, so the same input
// gives bitwise the same output on the same device, whatever deterministic() says.
#include <cstdint>

#include "kernels/internal.hpp"
#include "kernels/common/pointwise_loss.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

// out[o, i] = scale * sum_r in[o, r, i]; red may be 0 (the sums are 0). Overwrites out.
void sum(const ExecContext& ctx, float* out, const float* in, int64_t outer, int64_t red, int64_t inner,
         double scale);

using kern::PointLoss;
using kern::PointLossParams;

// out[0] = mean over i of term(pred_i, target_i) (kernels/common/pointwise_loss.hpp); n > 0.
// Partial sums in double per block, added in block order: deterministic, no atomics.
void pointwise_loss(const ExecContext& ctx, float* out, const float* pred, const float* target, int64_t n,
                    PointLossParams loss);
// d[i] = slope(pred_i, target_i) * g[0] / n, g a device scalar (not read on the host).
void pointwise_loss_backward(const ExecContext& ctx, float* d, const float* pred, const float* target, int64_t n,
                             PointLossParams loss, const float* g);

}  // namespace sdkd::gpu
