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
// Plain C++ (no CUDA types); launches go on the current device's stream.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::gpu {

struct AttentionDims {
  int64_t BH = 1;  // batch * heads
  int64_t N = 1;   // query rows
  int64_t M = 1;   // key / value rows
  int64_t d = 1;   // head dimension
};

constexpr int64_t kAttentionMaxHeadDim = 128;

// Throws sdkd::Error naming the op and the bad size when the kernels cannot take `dims`.
void attention_check_dims(const AttentionDims& dims);

void attention_forward(const AttentionDims& dims, const float* q, const float* k, const float* v, float* o,
                       float* lse);

// `delta` is scratch of BH * N floats (it receives rowsum(dO * O)). dq, dk, dv are overwritten.
void attention_backward(const AttentionDims& dims, const float* q, const float* k, const float* v, const float* o,
                        const float* lse, const float* dout, float* delta, float* dq, float* dk, float* dv,
                        bool deterministic);

}  // namespace sdkd::gpu
