#pragma once
// Dense matrix product on the CPU, row-major: C = alpha * op(A) * op(B) + beta * C, where
// op(A) is M x K, op(B) is K x N and C is M x N. transA means A is stored K x M (lda >= M),
// otherwise M x K (lda >= K); likewise for B. beta == 0 overwrites C (NaN in C is ignored).
//
// gemm() goes through CBLAS when the build has it (SDKD_WITH_CBLAS) and gemm_choice.hpp's rule
// picks it (not a generic OpenBLAS core where our kernel is built for AVX2/AVX-512), and through
// the portable cache-blocked kernel otherwise. Called inside an OpenMP parallel region it never starts more
// threads: it uses BLAS only while a SerialGemmScope holds BLAS to one thread, and otherwise
// the blocked kernel serially. All entry points throw sdkd::Error on bad sizes or strides.
#include <cstdint>

#include "kernels/cpu/gemm_micro.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

template <class T>
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// The portable kernel: packed panels, a register-tiled micro-kernel, OpenMP over tiles of C
// (only when called outside a parallel region). Bitwise the same result on any thread count.
template <class T>
void gemm_blocked(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// gemm_blocked with the micro-kernel variant isa (gemm_micro.hpp) instead of this CPU's
// choice: for tests and benchmarks. sdkd::Error if this build or this CPU lacks it.
template <class T>
void gemm_blocked_isa(GemmIsa isa, bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                      int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Triple loop with a wider accumulator; the oracle for tests, far too slow for anything else.
template <class T>
void gemm_naive(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// `batch` independent products; matrix b of A starts at A + b * strideA (likewise B, C).
// Parallel over the batch when it is large enough, otherwise each product is parallel.
template <class T>
void gemm_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int64_t batch,
                  int64_t strideA, int64_t strideB, int64_t strideC);

// While an instance lives, gemm() keeps to the calling thread (no BLAS worker threads), so a
// caller can run independent products in its own OpenMP loop without oversubscribing the
// cores. Construct it on the calling thread BEFORE the parallel region; the previous BLAS
// thread count is restored on destruction.
namespace detail {
// Throws sdkd::Error for negative sizes, leading dimensions shorter than a row, null operands.
void check_gemm_args(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const void* A,
                     int64_t lda, const void* B, int64_t ldb, const void* C, int64_t ldc);
}  // namespace detail

class SerialGemmScope {
 public:
  SerialGemmScope();
  ~SerialGemmScope();
  SerialGemmScope(const SerialGemmScope&) = delete;
  SerialGemmScope& operator=(const SerialGemmScope&) = delete;

 private:
  int saved_threads_ = 0;
};

}  // namespace sdkd::cpu
