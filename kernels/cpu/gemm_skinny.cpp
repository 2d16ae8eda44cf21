#include "kernels/cpu/gemm_skinny.hpp"
#include "kernels/cpu/parallel_policy.hpp"

#include <omp.h>

#include <algorithm>

namespace sdkd::cpu {
namespace {

// Independent partial sums per dot product: lane l sums the terms k = l mod kDotLanes, then
// the lanes fold pairwise. Fixed here rather than taken from the vector width, so an AVX2 and
// an AVX-512 build give the same bits.
constexpr int64_t kDotLanes = 16;

// Splits [0, n) over the threads when the product is worth a parallel region (the blocked
// kernel's bound) and we are not inside one already; every element is computed whole by one
// thread, so the split changes no result.
template <class F>
void over_columns(int64_t n, double flops, F&& body) {
  const int threads =
      (flops < 2e6 || !threads_pay_flops(flops)) ? 1 : int(std::min<int64_t>(omp_get_max_threads(), n / 64));
  if (threads <= 1) return body(int64_t(0), n);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    // Chunks of whole 16-element runs, so the vector loops keep their alignment to the split.
    const int64_t runs = (n + 15) / 16;
    const int64_t j0 = std::min(n, runs * t / nt * 16), j1 = std::min(n, runs * (t + 1) / nt * 16);
    if (j0 < j1) body(j0, j1);
  }
}

// sum_k a[k * sa] * b[k]: the terms k = l mod kDotLanes summed in lane l, the lanes folded
// pairwise (the same order for any stride of a).
template <class T>
T dot(const T* a, int64_t sa, const T* b, int64_t K) {
  T acc[kDotLanes] = {};
  int64_t k = 0;
  if (sa == 1) {
    for (; k + kDotLanes <= K; k += kDotLanes)
#pragma omp simd
      for (int64_t l = 0; l < kDotLanes; ++l) acc[l] += a[k + l] * b[k + l];
  }
  for (; k < K; ++k) acc[k % kDotLanes] += a[k * sa] * b[k];
  for (int64_t w = kDotLanes / 2; w >= 1; w /= 2)
    for (int64_t l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// C[i][j] = alpha * s + beta * C[i][j], where beta == 0 does not read C.
template <class T>
T combine(T alpha, T s, T beta, T c) {
  return beta == T(0) ? alpha * s : alpha * s + beta * c;
}

}  // namespace

bool gemm_is_skinny(bool transB, int64_t M, int64_t N, int64_t K) {
  return M > 0 && N > 0 && K > 0 && (K == 1 || (M <= kSkinnyRows && transB));
}

template <class T>
void gemm_skinny(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                 const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  const auto a = [&](int64_t i, int64_t k) { return transA ? A[k * lda + i] : A[i * lda + k]; };
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (K == 1) {  // C = alpha * a b^T + beta * C: one product per element
    over_columns(N, flops, [&](int64_t j0, int64_t j1) {
      for (int64_t i = 0; i < M; ++i) {
        const T ai = a(i, 0);
        T* c = C + i * ldc;
        if (transB) {
          for (int64_t j = j0; j < j1; ++j) c[j] = combine(alpha, ai * B[j * ldb], beta, c[j]);
        } else {
#pragma omp simd
          for (int64_t j = j0; j < j1; ++j) c[j] = combine(alpha, ai * B[j], beta, c[j]);
        }
      }
    });
    return;
  }
  // op(B) transposed: rows of B are contiguous along K, one dot product per element.
  over_columns(N, flops, [&](int64_t j0, int64_t j1) {
    for (int64_t i = 0; i < M; ++i) {
      // Row i of op(A): contiguous, or every lda-th element of A stored K x M.
      const T* ai = transA ? A + i : A + i * lda;
      const int64_t sa = transA ? lda : 1;
      for (int64_t j = j0; j < j1; ++j)
        C[i * ldc + j] = combine(alpha, dot(ai, sa, B + j * ldb, K), beta, C[i * ldc + j]);
    }
  });
}

template void gemm_skinny<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                 int64_t, float, float*, int64_t);
template void gemm_skinny<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                  const double*, int64_t, double, double*, int64_t);

}  // namespace sdkd::cpu
