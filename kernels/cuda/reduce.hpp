#pragma once
// Deterministic sums on the GPU: sum over the middle axis of a contiguous [outer, red, inner]
// array, and the mean squared / absolute error with its gradient. Plain C++ declarations
// (implemented in reduce.cu); device pointers, float32 data, current device's stream.
//
// Accumulation: every thread sums in double and partial sums are combined in double, so the
// float result is the correctly rounded value of a double sum in almost every case (the CPU
// twin also accumulates in double). No atomics: each partial sum has a fixed owner and the
// partials are combined in a fixed order that depends only on the sizes, so the same input
// gives bitwise the same output on the same device, whatever deterministic() says.
#include <cstdint>

#include "kernels/internal.hpp"
#include "kernels/common/pointwise_loss.hpp"

namespace sdkd::gpu {

// Doubles of scratch memory sum() needs for these sizes (0: it runs in one pass).
int64_t sum_workspace(int64_t outer, int64_t red, int64_t inner);
// out[o, i] = scale * sum_r in[o, r, i]; `workspace` holds sum_workspace(...) doubles (may be
// null when that is 0). red may be 0 (the sums are 0).
void sum(float* out, const float* in, int64_t outer, int64_t red, int64_t inner, double scale, double* workspace);

using kern::PointLoss;
using kern::PointLossParams;

// Doubles of scratch memory pointwise_loss() needs for n elements.
int64_t loss_workspace(int64_t n);
// out[0] = mean over i of term(pred_i, target_i) (kernels/common/pointwise_loss.hpp); n > 0.
// Partial sums in double per block, added in block order: deterministic, no atomics.
void pointwise_loss(float* out, const float* pred, const float* target, int64_t n, PointLossParams loss,
                    double* workspace);
// d[i] = slope(pred_i, target_i) * g[0] / n, g a device scalar (not read on the host).
void pointwise_loss_backward(float* d, const float* pred, const float* target, int64_t n, PointLossParams loss,
                             const float* g);

}  // namespace sdkd::gpu
