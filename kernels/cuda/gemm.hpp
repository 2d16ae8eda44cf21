#pragma once
// Single-precision matrix products on the GPU (implemented in gemm.cu). Plain C++: pointers
// are device pointers and every launch goes on the stream of the ExecContext passed first.
//
// Row-major, strided-batched: for b in [0, batch)
//   C_b = alpha * op(A_b) * op(B_b) + beta * C_b,  X_b = X + b * stride_x,
// where op(A) is M x K (A stored K x M with lda >= M when trans_a, else M x K with lda >= K),
// op(B) is K x N (likewise), C is M x N with ldc >= N. A stride of 0 shares that operand
// across the batch (stride_c must not be 0 when batch > 1). beta == 0 overwrites C, so NaN or
// garbage in an uninitialised C is ignored, as on the CPU (kernels/cpu/gemm.hpp).
//
// None of the kernels uses atomics or split-K: each element of C is one fixed-order sum over
// K, so results are bitwise reproducible run to run (deterministic by construction).
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

// The backend is the context's (ctx.gemm, from sdkd::gemm_backend() when the engine builds it):
// simt = our tiled fp32 FMA kernel (matches the CPU to fp32 rounding), tf32 = our tensor-core
// kernel (inputs rounded to TF32, fp32 accumulation; needs ctx.cc_major >= 8), cublas =
// cublasSgemmStridedBatched on ctx's handle in full fp32 (the yardstick).
void gemm(const ExecContext& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
          float* C, int64_t ldc, int64_t stride_c, int64_t batch);

// C (rows x cols, contiguous) += bias (cols) on every row: the bias of a linear layer.
void add_row_bias(const ExecContext& ctx, float* C, const float* bias, int64_t rows, int64_t cols);

// out[c] = sum over r of G[r * cols + c] (G contiguous rows x cols): a linear layer's bias
// gradient, in a fixed order (no atomics). Tall inputs are summed in row chunks whose partial
// sums go to a launch-local Workspace of ctx, then added in chunk order. Overwrites out.
void column_sum(const ExecContext& ctx, float* out, const float* G, int64_t rows, int64_t cols);

}  // namespace sdkd::gpu
