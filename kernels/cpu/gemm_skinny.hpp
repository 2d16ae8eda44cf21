#pragma once
// Products too thin for the packed kernel of gemm_blocked.cpp: depth one (an outer product)
// and at most kSkinnyRows rows of C with op(B) transposed (dot products of contiguous rows).
// The packed kernel computes whole MR x NR micro-tiles (8 x 32 floats with AVX-512) and
// copies both operands into panels first, so a product with one row (a 1x1 conv with one
// output channel: the SimVP readout's weight gradient) used 1/8 of its multiply-adds and read
// B twice. These loops stream the operands once. (One row with op(B) untransposed, the
// readout's forward, stays packed: a register-blocked row loop measured 1.36 against 1.12 ms.)
// Each element's sum runs in an order fixed by K alone (not by the thread count, nor by the
// vector width the build targets).
#include <cstdint>

namespace sdkd::cpu {

inline constexpr int64_t kSkinnyRows = 2;

// Whether gemm_skinny takes this shape (transB: op(B) is B transposed).
bool gemm_is_skinny(bool transB, int64_t M, int64_t N, int64_t K);

// C = alpha * op(A) * op(B) + beta * C for a shape gemm_is_skinny accepts (arguments already
// checked by the caller; beta == 0 overwrites C without reading it).
template <class T>
void gemm_skinny(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                 const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace sdkd::cpu
