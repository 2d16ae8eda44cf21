#pragma once
// Softmax forward / backward on the GPU (float32), the CUDA twins of the loops in
// engine/src/ops_attention.cpp, plus the per-sample scaling that drop_path applies.
// Plain C++ declarations (implemented in softmax.cu); pointers are device pointers and every
// launch goes on the stream of the ExecContext passed first.
//
// A contiguous tensor is seen as (outer, D, inner) around the softmax dimension; each of the
// outer * inner lanes (D values, `inner` apart) is reduced by one warp when D <= 1024 and by one
// block beyond. The usual case, softmax over the last dimension, is inner = 1 (rows).
// Sums accumulate in double per thread (as the CPU twin), combined by warp shuffles in a fixed
// order: no atomics, bitwise reproducible on one device.
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

// y = exp(x - max) / sum(exp(x - max)) along each lane.
void softmax_forward(const ExecContext& ctx, const float* x, float* y, int64_t outer, int64_t D, int64_t inner);

// dx = y * (g - sum(g * y)) along each lane.
void softmax_backward(const ExecContext& ctx, const float* y, const float* g, float* dx, int64_t outer, int64_t D, int64_t inner);

// drop_path's application: y[b, i] = x[b, i] * scale[b] for a contiguous (samples, per_sample)
// array; the same call multiplies the incoming gradient by the mask in the backward pass.
void scale_samples(const ExecContext& ctx, const float* x, const float* scale, float* y, int64_t samples, int64_t per_sample);

}  // namespace sdkd::gpu
