// GEMM entry points: argument checks, the CBLAS dispatch, the naive oracle and the batched
// helper. The portable kernel lives in gemm_blocked.cpp.
#include "kernels/cpu/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <type_traits>

#include "kernels/cpu/gemm_choice.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

#ifdef SDKD_WITH_CBLAS
#include <cblas.h>
#endif

namespace sdkd::cpu {
namespace {

#ifdef SDKD_WITH_CBLAS
bool fits_blas_int(int64_t v) { return v <= int64_t(INT_MAX); }

// Inside someone's OpenMP loop a multi-threaded BLAS call would oversubscribe the cores (and
// OpenBLAS serialises concurrent callers); the blocked kernel then runs serially instead.
// SerialGemmScope makes BLAS single-threaded, so such loops can keep using it.
bool blas_usable_here() {
#if defined(OPENBLAS_VERSION)
  return !omp_in_parallel() || openblas_get_num_threads() == 1;
#else
  return !omp_in_parallel();
#endif
}

void blas_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void blas_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda,
               const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

}  // namespace

void detail::check_gemm_args(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                             const void* A, int64_t lda, const void* B, int64_t ldb, const void* C,
                             int64_t ldc) {
  SDKD_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: sizes must be >= 0, got M=", M, " N=", N, " K=", K);
  const int64_t a_cols = transA ? M : K, b_cols = transB ? K : N;
  SDKD_CHECK(lda >= std::max<int64_t>(1, a_cols), "gemm: lda=", lda,
             " must be >= ", std::max<int64_t>(1, a_cols), " (row length of A stored ",
             transA ? "K x M" : "M x K", ")");
  SDKD_CHECK(ldb >= std::max<int64_t>(1, b_cols), "gemm: ldb=", ldb,
             " must be >= ", std::max<int64_t>(1, b_cols), " (row length of B stored ",
             transB ? "N x K" : "K x N", ")");
  SDKD_CHECK(ldc >= std::max<int64_t>(1, N), "gemm: ldc=", ldc, " must be >= N=", N);
  const bool empty = M == 0 || N == 0;
  SDKD_CHECK(empty || C != nullptr, "gemm: C is null for a ", M, "x", N, " product");
  SDKD_CHECK(empty || K == 0 || (A != nullptr && B != nullptr), "gemm: A or B is null");
}

template <class T>
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  detail::check_gemm_args(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
#ifdef SDKD_WITH_CBLAS
  // K == 0 is left to the blocked path: it only scales C, and BLAS would reject lda = 0 there.
  if (K > 0 && cpu_gemm_choice().backend == CpuGemm::blas && blas_usable_here() && fits_blas_int(M) && fits_blas_int(N) && fits_blas_int(K) &&
      fits_blas_int(lda) && fits_blas_int(ldb) && fits_blas_int(ldc)) {
    blas_gemm(transA, transB, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C,
              int(ldc));
    return;
  }
#endif
  gemm_blocked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
void gemm_naive(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  detail::check_gemm_args(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, long double>;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      Acc sum = 0;
      for (int64_t p = 0; p < K; ++p) {
        const T a = transA ? A[p * lda + i] : A[i * lda + p];
        const T b = transB ? B[j * ldb + p] : B[p * ldb + j];
        sum += Acc(a) * Acc(b);
      }
      T& c = C[i * ldc + j];
      c = T(Acc(alpha) * sum + (beta == T(0) ? Acc(0) : Acc(beta) * Acc(c)));
    }
  }
}

template <class T>
void gemm_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int64_t batch,
                  int64_t strideA, int64_t strideB, int64_t strideC) {
  SDKD_CHECK(batch >= 0, "gemm_batched: batch must be >= 0, got ", batch);
  if (batch == 0) return;
  detail::check_gemm_args(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  const double flops = 2.0 * double(batch) * double(M) * double(N) * double(K);
  const int threads = threads_pay_flops(flops) ? omp_get_max_threads() : 1;
  if (batch < threads || threads == 1) {
    for (int64_t b = 0; b < batch; ++b)
      gemm(transA, transB, M, N, K, alpha, A + b * strideA, lda, B + b * strideB, ldb, beta,
           C + b * strideC, ldc);
    return;
  }
  SerialGemmScope serial;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    gemm(transA, transB, M, N, K, alpha, A + b * strideA, lda, B + b * strideB, ldb, beta,
         C + b * strideC, ldc);
}

// OpenBLAS keeps a process-wide thread count; others (or no BLAS) need nothing here because
// gemm_blocked already stays serial inside a parallel region.
SerialGemmScope::SerialGemmScope() {
#if defined(SDKD_WITH_CBLAS) && defined(OPENBLAS_VERSION)
  saved_threads_ = openblas_get_num_threads();
  if (saved_threads_ != 1) openblas_set_num_threads(1);
#endif
}

SerialGemmScope::~SerialGemmScope() {
#if defined(SDKD_WITH_CBLAS) && defined(OPENBLAS_VERSION)
  if (saved_threads_ != 1) openblas_set_num_threads(saved_threads_);
#endif
}

#define SDKD_INSTANTIATE_GEMM(T)                                                               \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T, T*, int64_t);                                              \
  template void gemm_naive<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,     \
                              const T*, int64_t, T, T*, int64_t);                              \
  template void gemm_batched<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,   \
                                const T*, int64_t, T, T*, int64_t, int64_t, int64_t, int64_t,  \
                                int64_t);
SDKD_INSTANTIATE_GEMM(float)
SDKD_INSTANTIATE_GEMM(double)
#undef SDKD_INSTANTIATE_GEMM

}  // namespace sdkd::cpu
