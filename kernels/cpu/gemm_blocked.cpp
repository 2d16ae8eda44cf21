// The portable GEMM used when there is no CBLAS, where the BLAS runs generic kernels (and as
// a second opinion in tests): the Goto/BLIS packing and micro-kernel of gemm_tile.inc, in the
// instruction-set variant gemm_micro.hpp picks for this CPU. Threads split C into disjoint
// tiles and each runs the serial algorithm on its own tile: no barriers, and the summation
// order of every element is the same whatever the thread count.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/gemm_micro.hpp"
#include "kernels/cpu/gemm_skinny.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Per-thread, 64-byte aligned packing buffers that only ever grow: GEMMs run many times with
// the same shapes, and a fresh multi-megabyte allocation per call costs page faults.
template <class T>
T* pack_buffer(int slot, int64_t count) {
  thread_local std::unique_ptr<T, FreeDeleter> buffers[2];
  thread_local int64_t capacity[2] = {0, 0};
  if (capacity[slot] < count) {
    const size_t bytes = (size_t(count) * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    buffers[slot].reset(static_cast<T*>(p));
    capacity[slot] = count;
  }
  return buffers[slot].get();
}

template <class T>
void scale_by_beta(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    if (beta == T(0)) {
      std::fill(row, row + N, T(0));
    } else {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

}  // namespace

template <class T>
void gemm_blocked_isa(GemmIsa isa, bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                      int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  detail::check_gemm_args(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  const GemmMicro<T>* micro = gemm_micro<T>(isa);
  SDKD_CHECK(micro != nullptr && cpu_runs(isa), "gemm: no ", gemm_isa_name(isa),
             " micro-kernel runs here (this build or this CPU lacks it)");
  if (M == 0 || N == 0) return;
  if (alpha != T(0) && gemm_is_skinny(transB, M, N, K))
    return gemm_skinny(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  scale_by_beta(M, N, beta, C, ldc);
  if (K <= 0 || alpha == T(0)) return;

  const GemmMicro<T>& mk = *micro;
  // Split C into a grid of tiles, as square as the shape allows, one per thread. Small
  // products stay serial: a parallel region costs more than they do.
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = (flops < 2e6 || !threads_pay_flops(flops)) ? 1 : omp_get_max_threads();
  const int64_t row_units = (M + mk.MR - 1) / mk.MR, col_units = (N + mk.NR - 1) / mk.NR;
  int grid_rows = 1;
  double best = 1e300;
  for (int r = 1; r <= threads; ++r) {
    if (threads % r != 0) continue;
    const int c = threads / r;
    if (r > row_units || c > col_units) continue;
    // Work is balanced either way; prefer tiles whose two sides are closest (least packing).
    const double tile_m = double(M) / r, tile_n = double(N) / c;
    const double cost = tile_m * K + tile_n * K;  // packed elements per thread
    if (cost < best) best = cost, grid_rows = r;
  }
  const int grid_cols = std::max<int64_t>(1, std::min<int64_t>(threads / grid_rows, col_units));
  const int tiles = grid_rows * grid_cols;

#pragma omp parallel for num_threads(tiles) schedule(static) if (tiles > 1)
  for (int t = 0; t < tiles; ++t) {
    const int tr = t / grid_cols, tc = t % grid_cols;
    // Tile edges fall on micro-tile boundaries so the split costs no extra edge handling.
    const int64_t r0 = row_units * tr / grid_rows * mk.MR;
    const int64_t r1 = std::min<int64_t>(M, row_units * (tr + 1) / grid_rows * mk.MR);
    const int64_t c0 = col_units * tc / grid_cols * mk.NR;
    const int64_t c1 = std::min<int64_t>(N, col_units * (tc + 1) / grid_cols * mk.NR);
    if (r1 <= r0 || c1 <= c0) continue;
    const int64_t m = r1 - r0, n = c1 - c0;
    const int64_t nc = std::min<int64_t>(mk.NC, (n + mk.NR - 1) / mk.NR * mk.NR);
    const int64_t mc = std::min<int64_t>(mk.MC, (m + mk.MR - 1) / mk.MR * mk.MR);
    const int64_t kc = std::min<int64_t>(mk.KC, K);
    T* const bpack = pack_buffer<T>(0, kc * nc);
    T* const apack = pack_buffer<T>(1, kc * mc);
    mk.tile(transA, transB, r0, m, c0, n, K, alpha, A, lda, B, ldb, C + r0 * ldc + c0, ldc, bpack, apack);
  }
}

template <class T>
void gemm_blocked(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                  const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  gemm_blocked_isa(active_gemm_isa(), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm_blocked_isa<float>(GemmIsa, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                      const float*, int64_t, float, float*, int64_t);
template void gemm_blocked_isa<double>(GemmIsa, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                       const double*, int64_t, double, double*, int64_t);
template void gemm_blocked<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_blocked<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                   int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace sdkd::cpu
