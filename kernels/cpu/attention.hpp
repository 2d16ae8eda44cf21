#pragma once
// Fused scaled-dot-product attention on the CPU, FlashAttention style: the CPU twin of the
// CUDA kernel. For each (batch, head) slice, with s = 1/sqrt(d):
//     O = softmax(s Q K^T) V,   L_i = log sum_j exp(s q_i . k_j)   (the row log-sum-exp)
// Layouts (contiguous, row-major): q, o, dq (BH, N, d); k, v, dk, dv (BH, M, d); lse (BH, N).
//
// The forward walks K/V in tiles with an online softmax (running max and sum per query row),
// so only a tile of scores is ever held, never the N x M matrix. The backward recomputes the
// probabilities tile by tile from Q, K and L:
//     D_i = rowsum(dO_i * O_i),  P = exp(s Q K^T - L),  dV += P^T dO,  dP = dO V^T,
//     dS = P * (dP - D),  dQ += s dS K,  dK += s dS^T Q.
// The tile products are small GEMMs (cpu::gemm held to the calling thread). Work is split over
// (batch, head) with OpenMP; each slice runs serially in a fixed loop order, so results are
// bitwise independent of the thread count. Outputs are overwritten.
// Every entry point checks its sizes and throws sdkd::Error naming the bad one.
#include <cstdint>

#include "kernels/common/attention_shape.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

using kern::AttentionShape;

template <class T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, T* o, T* lse);

template <class T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* o, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv);

}  // namespace sdkd::cpu
