#pragma once
// Bilinear upsampling (align_corners = false, PyTorch's source-index rule) on the GPU, forward
// and backward. Plain C++ declarations (implemented in resample.cu); device pointers, float32,
// contiguous (planes, H, W) input and (planes, OH, OW) output, the ExecContext's stream.
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

void upsample_bilinear2d(const ExecContext& ctx, float* y, const float* x, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW);
// dx = the adjoint applied to g. A gather (each input pixel sums the output gradients that read
// it, in a fixed order, in double), so it needs no atomics and is deterministic.
void upsample_bilinear2d_backward(const ExecContext& ctx, float* dx, const float* g, int64_t planes, int64_t H, int64_t W, int64_t OH,
                                  int64_t OW);

}  // namespace sdkd::gpu
