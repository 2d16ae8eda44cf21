// Fused attention forward/backward (see attention.hpp for the maths and the layouts).
#include "kernels/cpu/attention.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/host_exp.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {

namespace {

// Tile sizes: a query tile meets each K/V tile in a few small GEMMs; a tile of scores is the
// only score storage. They change the summation order only, which is fixed for a given size.
constexpr int64_t kRowTile = 64;
constexpr int64_t kColTile = 128;

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

template <class T>
void forward_slice(const AttentionShape& sh, const T* Q, const T* K, const T* V, T* O, T* L) {
  const int64_t N = sh.N, M = sh.M, d = sh.d;
  const T scale = T(1.0 / std::sqrt(double(d)));
  std::vector<T> S(static_cast<size_t>(kRowTile * kColTile)), acc(static_cast<size_t>(kRowTile * d));
  std::vector<T> row_max(static_cast<size_t>(kRowTile)), row_sum(static_cast<size_t>(kRowTile));
  for (int64_t i0 = 0; i0 < N; i0 += kRowTile) {
    const int64_t rows = std::min(kRowTile, N - i0);
    std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<T>::infinity());
    std::fill(row_sum.begin(), row_sum.end(), T(0));
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t j0 = 0; j0 < M; j0 += kColTile) {
      const int64_t cols = std::min(kColTile, M - j0);
      // S = s Q_i K_j^T
      gemm<T>(false, true, rows, cols, d, scale, Q + i0 * d, d, K + j0 * d, d, T(0), S.data(), kColTile);
      for (int64_t r = 0; r < rows; ++r) {
        T* srow = S.data() + r * kColTile;
        T tile_max = -std::numeric_limits<T>::infinity();
        for (int64_t c = 0; c < cols; ++c) tile_max = std::max(tile_max, srow[c]);
        // Online softmax: what was accumulated under the old maximum is rescaled.
        const T new_max = std::max(row_max[size_t(r)], tile_max);
        const T correction = T(kern::host_exp(double(row_max[size_t(r)] - new_max)));
        T tile_sum = 0;
        // host_exp is branch-free, so this loop vectorises (the C library's exp would not).
#pragma omp simd reduction(+ : tile_sum)
        for (int64_t c = 0; c < cols; ++c) {
          srow[c] = T(kern::host_exp(double(srow[c] - new_max)));
          tile_sum += srow[c];
        }
        row_sum[size_t(r)] = row_sum[size_t(r)] * correction + tile_sum;
        row_max[size_t(r)] = new_max;
        T* a = acc.data() + r * d;
        for (int64_t e = 0; e < d; ++e) a[e] *= correction;
      }
      // acc += P V_j
      gemm<T>(false, false, rows, d, cols, T(1), S.data(), kColTile, V + j0 * d, d, T(1), acc.data(), d);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T inv = T(1) / row_sum[size_t(r)];
      const T* a = acc.data() + r * d;
      T* o = O + (i0 + r) * d;
      for (int64_t e = 0; e < d; ++e) o[e] = a[e] * inv;
      L[i0 + r] = row_max[size_t(r)] + std::log(row_sum[size_t(r)]);
    }
  }
}

template <class T>
void backward_slice(const AttentionShape& sh, const T* Q, const T* K, const T* V, const T* O, const T* L,
                    const T* dO, T* dQ, T* dK, T* dV) {
  const int64_t N = sh.N, M = sh.M, d = sh.d;
  const T scale = T(1.0 / std::sqrt(double(d)));
  std::vector<T> D(static_cast<size_t>(N));
  std::vector<T> P(static_cast<size_t>(kRowTile * kColTile)), dS(static_cast<size_t>(kRowTile * kColTile));
  for (int64_t i = 0; i < N; ++i) D[size_t(i)] = dot(dO + i * d, O + i * d, d);
  std::fill(dQ, dQ + N * d, T(0));
  std::fill(dK, dK + M * d, T(0));
  std::fill(dV, dV + M * d, T(0));
  // Outer loop over key tiles (whose dK, dV stay hot), inner over query tiles, as the GPU
  // kernel does.
  for (int64_t j0 = 0; j0 < M; j0 += kColTile) {
    const int64_t cols = std::min(kColTile, M - j0);
    const T* Kj = K + j0 * d;
    const T* Vj = V + j0 * d;
    for (int64_t i0 = 0; i0 < N; i0 += kRowTile) {
      const int64_t rows = std::min(kRowTile, N - i0);
      const T* Qi = Q + i0 * d;
      const T* dOi = dO + i0 * d;
      // P = exp(s Q_i K_j^T - L_i), recomputed rather than stored.
      gemm<T>(false, true, rows, cols, d, scale, Qi, d, Kj, d, T(0), P.data(), kColTile);
      for (int64_t r = 0; r < rows; ++r) {
        T* prow = P.data() + r * kColTile;
        const T l = L[i0 + r];
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) prow[c] = T(kern::host_exp(double(prow[c] - l)));
      }
      // dV_j += P^T dO_i;  dP = dO_i V_j^T (into dS);  dS = P * (dP - D_i)
      gemm<T>(true, false, cols, d, rows, T(1), P.data(), kColTile, dOi, d, T(1), dV + j0 * d, d);
      gemm<T>(false, true, rows, cols, d, T(1), dOi, d, Vj, d, T(0), dS.data(), kColTile);
      for (int64_t r = 0; r < rows; ++r) {
        const T* prow = P.data() + r * kColTile;
        T* srow = dS.data() + r * kColTile;
        const T Di = D[size_t(i0 + r)];
        for (int64_t c = 0; c < cols; ++c) srow[c] = prow[c] * (srow[c] - Di);
      }
      // dQ_i += s dS K_j;  dK_j += s dS^T Q_i
      gemm<T>(false, false, rows, d, cols, scale, dS.data(), kColTile, Kj, d, T(1), dQ + i0 * d, d);
      gemm<T>(true, false, cols, d, rows, scale, dS.data(), kColTile, Qi, d, T(1), dK + j0 * d, d);
    }
  }
}

}  // namespace

template <class T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, T* o, T* lse) {
  s.validate();
  SerialGemmScope serial;  // the tile GEMMs stay on their thread, BLAS or not, at any thread count
#pragma omp parallel for schedule(static) if (s.BH > 1 && threads_pay_flops(4.0 * double(s.BH) * double(s.N) * double(s.M) * double(s.d)))
  for (int64_t b = 0; b < s.BH; ++b)
    forward_slice<T>(s, q + b * s.N * s.d, k + b * s.M * s.d, v + b * s.M * s.d, o + b * s.N * s.d, lse + b * s.N);
}

template <class T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* o, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv) {
  s.validate();
  const int64_t qs = s.N * s.d, ks = s.M * s.d;
  SerialGemmScope serial;
#pragma omp parallel for schedule(static) if (s.BH > 1 && threads_pay_flops(4.0 * double(s.BH) * double(s.N) * double(s.M) * double(s.d)))
  for (int64_t b = 0; b < s.BH; ++b)
    backward_slice<T>(s, q + b * qs, k + b * ks, v + b * ks, o + b * qs, lse + b * s.N, dout + b * qs, dq + b * qs,
                      dk + b * ks, dv + b * ks);
}

#define SDKD_ATTENTION_INSTANTIATE(T)                                                                       \
  template void attention_forward<T>(const AttentionShape&, const T*, const T*, const T*, T*, T*);         \
  template void attention_backward<T>(const AttentionShape&, const T*, const T*, const T*, const T*, const T*, \
                                      const T*, T*, T*, T*);

SDKD_ATTENTION_INSTANTIATE(float)
SDKD_ATTENTION_INSTANTIATE(double)
#undef SDKD_ATTENTION_INSTANTIATE

}  // namespace sdkd::cpu
