#pragma once
// Fused scaled-dot-product attention on the GPU (FlashAttention style), float32: the CUDA
// counterpart of kernels/cpu/attention.hpp, same maths and layouts. Per (batch, head) slice,
// with s = 1/sqrt(d):
//     O = softmax(s Q K^T) V,   L_i = log sum_j exp(s q_i . k_j)
// q, o, dq are (BH, N, d); k, v, dk, dv are (BH, M, d); lse and delta are (BH, N); all
// contiguous device pointers. Head dimensions up to 128 (zero-padded to 16, 32, 64 or 128
// inside the kernels); any N and M >= 1. No N x M matrix is ever written to global memory.
//
// The backward recomputes P tile by tile from Q, K and L. With deterministic = false it runs
// one kernel over key tiles that accumulates dQ with float atomicAdd (order, hence the last
// bits, vary run to run); with deterministic = true a second kernel over query tiles computes
// dQ without atomics, so every gradient is bitwise reproducible.
// Plain C++ (no CUDA types); launches go on the stream of the ExecContext passed first. The
// parameters are the CPU twin's struct (kernels/common/attention_shape.hpp).
#include <cstdint>

#include "kernels/common/attention_shape.hpp"
#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

using kern::AttentionShape;

constexpr int64_t kAttentionMaxHeadDim = 128;

// Throws sdkd::Error naming the op and the bad size when the kernels cannot take `dims`.
void attention_check_dims(const AttentionShape& dims);

void attention_forward(const ExecContext& ctx, const AttentionShape& dims, const float* q, const float* k, const float* v, float* o,
                       float* lse);

// dq, dk, dv are overwritten. rowsum(dO * O) goes to a launch-local Workspace of ctx;
// ctx.deterministic picks the two-pass dQ kernel over the atomic one.
void attention_backward(const ExecContext& ctx, const AttentionShape& dims, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, const float* dout, float* dq, float* dk,
                        float* dv);

}  // namespace sdkd::gpu
