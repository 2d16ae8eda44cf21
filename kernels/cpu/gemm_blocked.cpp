// The portable GEMM used when there is no CBLAS (and as a second opinion in tests).
// Goto/BLIS structure: op(B) is packed into KC x NR micro-panels, op(A) into MR x KC
// micro-panels, and an MR x NR micro-kernel keeps its tile of C in registers while it walks
// the shared depth. Packing makes the transposes free and gives the micro-kernel unit-stride,
// aligned reads that the compiler vectorises along NR. Threads split C into disjoint tiles
// and each runs the serial algorithm on its own tile: no barriers, and the summation order of
// every element is the same whatever the thread count.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "kernels/cpu/gemm.hpp"

namespace sdkd::cpu {
namespace {

// Register tile: NR spans two vector registers, MR rows of accumulators fill most of the
// register file (AVX-512 has 32 vector registers, AVX2 and SSE 16).
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int kRows = 8;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
constexpr int kRows = 6;
#else
constexpr int kVectorBytes = 16;
constexpr int kRows = 6;
#endif

template <class T>
struct Tile {
  static constexpr int MR = kRows;
  static constexpr int NR = 2 * kVectorBytes / int(sizeof(T));
  // Cache blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in L2,
  // a KC x NC panel of B in L2/L3.
  static constexpr int64_t KC = 1024 / int64_t(sizeof(T));  // 256 floats, 128 doubles
  static constexpr int64_t MC = MR * 16;
  static constexpr int64_t NC = 2048;
};

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

// Packs rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row micro-panels, zero-padding
// the last panel so the micro-kernel never needs a row bound.
template <class T>
void pack_a(bool trans, const T* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            T* dst) {
  constexpr int MR = Tile<T>::MR;
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int rows = int(std::min<int64_t>(MR, mc - ir));
    for (int64_t p = 0; p < kc; ++p) {
      T* d = dst + p * MR;
      for (int i = 0; i < rows; ++i) {
        const int64_t row = i0 + ir + i, col = p0 + p;
        d[i] = trans ? A[col * lda + row] : A[row * lda + col];
      }
      for (int i = rows; i < MR; ++i) d[i] = T(0);
    }
    dst += kc * MR;
  }
}

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column micro-panels.
template <class T>
void pack_b(bool trans, const T* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            T* dst) {
  constexpr int NR = Tile<T>::NR;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int cols = int(std::min<int64_t>(NR, nc - jr));
    if (!trans && cols == NR) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = B + (p0 + p) * ldb + j0 + jr;
        T* d = dst + p * NR;
        for (int j = 0; j < NR; ++j) d[j] = s[j];
      }
    } else if (trans) {
      // B is stored N x K: walk each stored row contiguously, scatter into the panel (in L1).
      for (int j = 0; j < cols; ++j) {
        const T* s = B + (j0 + jr + j) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = s[p];
      }
      for (int64_t p = 0; p < kc; ++p)
        for (int j = cols; j < NR; ++j) dst[p * NR + j] = T(0);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = B + (p0 + p) * ldb + j0 + jr;
        T* d = dst + p * NR;
        for (int j = 0; j < cols; ++j) d[j] = s[j];
        for (int j = cols; j < NR; ++j) d[j] = T(0);
      }
    }
    dst += kc * NR;
  }
}

// C[0:rows, 0:cols] += alpha * Ap * Bp over depth kc. The MR x NR accumulators live in
// registers: each step loads one row of the B panel (two vectors) and broadcasts MR values of A.
// GCC/Clang vector extensions pin that shape; other compilers get the plain loop.
#if defined(__GNUC__)
template <class T>
void micro_kernel(int64_t kc, const T* __restrict Ap, const T* __restrict Bp, T alpha, T* C,
                  int64_t ldc, int rows, int cols) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR, L = NR / 2;
  typedef T V __attribute__((vector_size(kVectorBytes)));
  V acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = V{};
  for (int64_t p = 0; p < kc; ++p) {
    V b0, b1;
    std::memcpy(&b0, Bp + p * NR, sizeof(V));
    std::memcpy(&b1, Bp + p * NR + L, sizeof(V));
    const T* a = Ap + p * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      acc[i][0] += a[i] * b0;
      acc[i][1] += a[i] * b1;
    }
  }
  for (int i = 0; i < rows; ++i) {
    T out[NR];
    std::memcpy(out, &acc[i][0], sizeof(V));
    std::memcpy(out + L, &acc[i][1], sizeof(V));
    T* c = C + i * ldc;
    if (cols == NR) {
      for (int j = 0; j < NR; ++j) c[j] += alpha * out[j];
    } else {
      for (int j = 0; j < cols; ++j) c[j] += alpha * out[j];
    }
  }
}
#else
template <class T>
void micro_kernel(int64_t kc, const T* __restrict Ap, const T* __restrict Bp, T alpha, T* C,
                  int64_t ldc, int rows, int cols) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += Ap[p * MR + i] * Bp[p * NR + j];
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) C[i * ldc + j] += alpha * acc[i][j];
}
#endif

// C (m x n, already scaled by beta) += alpha * op(A)[rows i0..] * op(B)[cols j0..].
template <class T>
void gemm_tile_serial(bool transA, bool transB, int64_t i0, int64_t m, int64_t j0, int64_t n,
                      int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                      int64_t ldc) {
  using TL = Tile<T>;
  constexpr int MR = TL::MR, NR = TL::NR;
  const int64_t nc_max = std::min<int64_t>(TL::NC, (n + NR - 1) / NR * NR);
  const int64_t mc_max = std::min<int64_t>(TL::MC, (m + MR - 1) / MR * MR);
  const int64_t kc_max = std::min<int64_t>(TL::KC, K);
  T* const bpack = pack_buffer<T>(0, kc_max * nc_max);
  T* const apack = pack_buffer<T>(1, kc_max * mc_max);
  for (int64_t jc = 0; jc < n; jc += TL::NC) {
    const int64_t nc = std::min<int64_t>(TL::NC, n - jc);
    for (int64_t pc = 0; pc < K; pc += TL::KC) {
      const int64_t kc = std::min<int64_t>(TL::KC, K - pc);
      pack_b(transB, B, ldb, pc, kc, j0 + jc, nc, bpack);
      for (int64_t ic = 0; ic < m; ic += TL::MC) {
        const int64_t mc = std::min<int64_t>(TL::MC, m - ic);
        pack_a(transA, A, lda, i0 + ic, mc, pc, kc, apack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int cols = int(std::min<int64_t>(NR, nc - jr));
          const T* bp = bpack + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int rows = int(std::min<int64_t>(MR, mc - ir));
            micro_kernel(kc, apack + ir * kc, bp, alpha, C + (ic + ir) * ldc + jc + jr, ldc, rows,
                         cols);
          }
        }
      }
    }
  }
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
void gemm_blocked(bool transA, bool transB, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  detail::check_gemm_args(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  scale_by_beta(M, N, beta, C, ldc);
  if (K <= 0 || alpha == T(0)) return;

  using TL = Tile<T>;
  // Split C into a grid of tiles, as square as the shape allows, one per thread. Small
  // products stay serial: a parallel region costs more than they do.
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = (omp_in_parallel() || flops < 2e6) ? 1 : omp_get_max_threads();
  const int64_t row_units = (M + TL::MR - 1) / TL::MR, col_units = (N + TL::NR - 1) / TL::NR;
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
    const int64_t r0 = row_units * tr / grid_rows * TL::MR;
    const int64_t r1 = std::min<int64_t>(M, row_units * (tr + 1) / grid_rows * TL::MR);
    const int64_t c0 = col_units * tc / grid_cols * TL::NR;
    const int64_t c1 = std::min<int64_t>(N, col_units * (tc + 1) / grid_cols * TL::NR);
    if (r1 > r0 && c1 > c0)
      gemm_tile_serial(transA, transB, r0, r1 - r0, c0, c1 - c0, K, alpha, A, lda, B, ldb,
                       C + r0 * ldc + c0, ldc);
  }
}

template void gemm_blocked<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_blocked<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                   int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace sdkd::cpu
