// The GEMM family on the GPU: a tiled SIMT fp32 kernel, a tensor-core TF32 kernel (mma.sync)
// and cuBLAS, behind one strided-batched row-major entry point (gemm.hpp), plus the two small
// kernels a linear layer needs around it (row bias add, fixed-order column sum).
//
// Determinism: no kernel here uses atomics or split-K. Every element of C is accumulated by
// one thread (SIMT) or one MMA fragment lane (TF32) in increasing k order, so the same inputs
// give bitwise the same C run to run; the column sum reduces in a fixed order. (cuBLAS
// documents bitwise reproducible GEMMs for one toolkit version, GPU model and stream.)
#include <algorithm>
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.hpp"

namespace sdkd::gpu {

namespace {

// ---------------------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------------------

// One launch's view of the problem. Sizes are int inside kernels (checked on the host);
// every offset into memory is computed in 64 bits, because a batched operand can be larger
// than 2^31 elements even when each dimension fits an int.
struct Problem {
  int M, N, K;
  float alpha, beta;
  const float* A;
  int64_t lda, sA;
  const float* B;
  int64_t ldb, sB;
  float* C;
  int64_t ldc, sC;
};

// Grid limits: y and z are at most 65535. Large M (tiles along y) or a large batch (z) are
// split into several launches; pointers are advanced on the host, so kernels never see it.
constexpr int64_t kMaxGridYZ = 65535;

template <class Launch>
void launch_chunks(const Problem& p, bool trans_a, int64_t batch, int BM, int BN, Launch&& launch) {
  const int64_t m_tiles = (p.M + BM - 1) / BM, n_tiles = (p.N + BN - 1) / BN;
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxGridYZ) {
    const int64_t nb = std::min(kMaxGridYZ, batch - b0);
    for (int64_t t0 = 0; t0 < m_tiles; t0 += kMaxGridYZ) {
      const int64_t nt = std::min(kMaxGridYZ, m_tiles - t0);
      const int64_t m0 = t0 * BM;
      Problem q = p;
      q.M = int(std::min<int64_t>(p.M - m0, nt * BM));
      q.A = p.A + b0 * p.sA + (trans_a ? m0 : m0 * p.lda);
      q.B = p.B + b0 * p.sB;
      q.C = p.C + b0 * p.sC + m0 * p.ldc;
      launch(q, dim3(unsigned(n_tiles), unsigned(nt), unsigned(nb)));
      SDKD_CUDA_LAUNCH_CHECK();
    }
  }
}

// One operand's tile (ROWS x BK: BM x BK of A or BN x BK of B) on its way from global memory
// to shared memory, as seen by one thread of a T-thread block. KCONTIG: k is the contiguous
// index in global memory (row-major A, transposed B), so consecutive threads take
// consecutive k of a row; otherwise they take consecutive rows of one k. Each thread's L
// elements are a fixed pattern: one base address plus i * di, advanced by dt per k-tile, so
// a thread keeps one pointer and two strides instead of L 64-bit addresses (registers).
template <int ROWS, int BK, int T, bool KCONTIG>
struct TileLoad {
  static constexpr int L = ROWS * BK / T;
  static constexpr int RS = KCONTIG ? T / BK : 0;    // row step between a thread's elements
  static constexpr int KS = KCONTIG ? 0 : T / ROWS;  // k step between a thread's elements
  static_assert(ROWS * BK % T == 0 && T % BK == 0 && T % ROWS == 0, "tile loads must divide evenly");
  int r0, k0;       // the thread's first element, in tile coordinates
  int rows_left;    // matrix rows from the tile's first row on (rows past it read as 0)
  const float* p;   // global address of the first element for the next k-tile
  int64_t di, dt;   // address step between elements, and per k-tile
  float v[L];

  // `origin`: the tile's (row 0, k 0) element in global memory; ld: the leading dimension.
  __device__ TileLoad(const float* origin, int64_t ld, int rows_left_) : rows_left(rows_left_) {
    const int tid = threadIdx.x;
    if (KCONTIG) {
      k0 = tid % BK;
      r0 = tid / BK;
      p = origin + int64_t(r0) * ld + k0;
      di = RS * ld;
      dt = BK;
    } else {
      r0 = tid % ROWS;
      k0 = tid / ROWS;
      p = origin + int64_t(k0) * ld + r0;
      di = KS * ld;
      dt = BK * ld;
    }
  }
  __device__ int row(int i) const { return r0 + i * RS; }
  __device__ int kidx(int i) const { return k0 + i * KS; }
  // Reads the next k-tile into registers; k_left = K minus the tile's first k.
  __device__ void fetch(int k_left) {
    const float* q = p;
#pragma unroll
    for (int i = 0; i < L; ++i, q += di) v[i] = (row(i) < rows_left && kidx(i) < k_left) ? *q : 0.f;
    p += dt;
  }
};

// ---------------------------------------------------------------------------------------
// 1. SIMT fp32: the classic shared-memory tiled kernel with 8x8 register tiles.
//
// Tiles: BM x BN = 128 x 128 with BK = 8 and 256 threads, each thread owning an 8 x 8 block
// of C (as two 4-row and two 4-column halves, BM/2 and BN/2 apart, so that a warp's float4
// reads of the shared tiles touch few distinct addresses). Why these sizes: 64 accumulators
// per thread give 64 FMAs per 16 shared-memory floats read (4:1), enough to keep the FMA pipes
// busy without spilling (about 100-130 registers), and the two double-buffered 8-deep tiles
// take 16.5 KiB of shared memory, so 2-3 blocks fit per SM. A 64 x 64 variant (64 threads,
// same 8x8 per thread) is used when the 128-tile grid would not fill the GPU (small M, N or
// batch): more, smaller blocks keep all SMs working.
//
// Shared tiles are stored k-major (As[k][m], Bs[k][n]) so each thread reads its 8 rows /
// 8 columns with two float4 loads; rows are padded by 4 floats so the transposing stores
// (when a global row runs along k) hit 32 distinct banks, while keeping 16-byte alignment.
// Global loads are mapped so consecutive threads read consecutive addresses of whichever
// index is contiguous in memory (k for row-major A, m for transposed A; likewise for B).
// The next k-tile is loaded into registers while the current one is multiplied (double
// buffering, one __syncthreads per k-tile). Edges are zero-filled on load and predicated on
// store, so any M, N, K and any leading dimension work. Arithmetic: plain fp32 fmaf.
// ---------------------------------------------------------------------------------------

constexpr int kSimtBK = 8;

template <int BM, int BN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / 8) * (BN / 8)) sgemm_simt_kernel(Problem p) {
  constexpr int BK = kSimtBK;
  constexpr int T = (BM / 8) * (BN / 8);
  constexpr int LDS_A = BM + 4, LDS_B = BN + 4;
  __shared__ __align__(16) float As[2][BK][LDS_A];
  __shared__ __align__(16) float Bs[2][BK][LDS_B];

  const int tid = threadIdx.x;
  const int64_t z = blockIdx.z;
  const float* A = p.A + z * p.sA;
  const float* B = p.B + z * p.sB;
  float* C = p.C + z * p.sC;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

  TileLoad<BM, BK, T, !TA> la(TA ? A + m0 : A + int64_t(m0) * p.lda, p.lda, p.M - m0);
  TileLoad<BN, BK, T, TB> lb(TB ? B + int64_t(n0) * p.ldb : B + n0, p.ldb, p.N - n0);
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < la.L; ++i) As[buf][la.kidx(i)][la.row(i)] = la.v[i];
#pragma unroll
    for (int i = 0; i < lb.L; ++i) Bs[buf][lb.kidx(i)][lb.row(i)] = lb.v[i];
  };

  const int tx = tid % (BN / 8), ty = tid / (BN / 8);
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  const int ktiles = (p.K + BK - 1) / BK;
  la.fetch(p.K);
  lb.fetch(p.K);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int kt = 0; kt < ktiles; ++kt) {
    const bool more = kt + 1 < ktiles;
    if (more) {  // in flight while this tile is multiplied
      la.fetch(p.K - (kt + 1) * BK);
      lb.fetch(p.K - (kt + 1) * BK);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4 + BM / 2]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4 + BN / 2]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      // The other buffer was last read before the previous __syncthreads: safe to overwrite.
      store(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int gm = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + i - 4);
    if (gm >= p.M) continue;
    float* crow = C + int64_t(gm) * p.ldc;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int gn = n0 + (j < 4 ? tx * 4 + j : BN / 2 + tx * 4 + j - 4);
      if (gn >= p.N) continue;
      const float v = p.alpha * acc[i][j];
      crow[gn] = p.beta == 0.f ? v : v + p.beta * crow[gn];
    }
  }
}

template <int BM, int BN, bool TA, bool TB>
void launch_simt_t(cudaStream_t st, const Problem& p, int64_t batch) {
  launch_chunks(p, TA, batch, BM, BN, [st](const Problem& q, dim3 grid) {
    sgemm_simt_kernel<BM, BN, TA, TB><<<grid, (BM / 8) * (BN / 8), 0, st>>>(q);
  });
}

template <int BM, int BN>
void launch_simt_tiles(cudaStream_t st, bool ta, bool tb, const Problem& p, int64_t batch) {
  if (ta) {
    if (tb) launch_simt_t<BM, BN, true, true>(st, p, batch);
    else launch_simt_t<BM, BN, true, false>(st, p, batch);
  } else {
    if (tb) launch_simt_t<BM, BN, false, true>(st, p, batch);
    else launch_simt_t<BM, BN, false, false>(st, p, batch);
  }
}

// True when the grid of big tiles would leave SMs idle: then the smaller tile wins.
bool prefer_small_tiles(const ExecContext& ctx, const Problem& p, int64_t batch, int BM, int BN) {
  const int64_t tiles = int64_t((p.M + BM - 1) / BM) * ((p.N + BN - 1) / BN) * batch;
  return tiles < int64_t(ctx.sm_count);
}

void gemm_simt(const ExecContext& ctx, bool ta, bool tb, const Problem& p, int64_t batch) {
  const cudaStream_t st = stream_of(ctx);
  if (prefer_small_tiles(ctx, p, batch, 128, 128)) launch_simt_tiles<64, 64>(st, ta, tb, p, batch);
  else launch_simt_tiles<128, 128>(st, ta, tb, p, batch);
}

// ---------------------------------------------------------------------------------------
// 2. Tensor-core TF32: mma.sync.m16n8k8 (sm_80 and later; the same instruction on sm_90).
//
// Tiles: BM x BN = 128 x 128, BK = 16, 8 warps as 2 (M) x 4 (N), each warp owning 64 x 32 of
// C = 4 x 4 MMA tiles of 16 x 8 (64 fp32 accumulators per thread). Why: per 8-deep k step a
// warp loads 4 A fragments (16 regs) and 4 B fragments (8 regs) from shared memory for 16
// MMAs, a good reuse ratio for mma.sync, and the double-buffered tiles (2 x 2 x 128 x ~20
// floats) stay under the 48 KiB static shared-memory limit. A 64 x 64 variant (4 warps of
// 32 x 32) serves problems whose 128-tile grid would not fill the GPU.
//
// Shared layouts are chosen per transpose case (template TA/TB) so that global loads are
// coalesced AND fragment reads are bank-conflict free:
//   A row-major in global (k contiguous) -> As[m][k], row pitch BK+4 = 20 (20*g + t distinct);
//   A transposed (m contiguous)          -> As[k][m], row pitch BM+8 (8*t + g distinct);
//   B likewise with (n, k). Values are rounded to TF32 (cvt.rna, round-to-nearest-away) once,
// when written to shared memory, so the inner loop only loads and issues MMAs. Accumulation
// is fp32 inside the tensor cores. Edges: zero-filled loads, predicated stores.
// Fragment ownership (PTX ISA, m16n8k8 .tf32): g = lane/4, t = lane%4;
//   A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)   [row m, col k]
//   B: b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
// ---------------------------------------------------------------------------------------

constexpr int kTcBK = 16;

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // never launched: the host refuses the TF32 backend below sm_80
#else
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

template <int BM, int BN, int WM, int WN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * 32, 2) sgemm_tf32_kernel(Problem p) {
  constexpr int BK = kTcBK;
  constexpr int WARPS_N = BN / WN;
  constexpr int T = (BM / WM) * (BN / WN) * 32;
  constexpr int MI = WM / 16, NI = WN / 8;
  constexpr int LDS_A = TA ? BM + 8 : BK + 4;
  constexpr int LDS_B = TB ? BK + 4 : BN + 8;
  constexpr int SIZE_A = TA ? BK * LDS_A : BM * LDS_A;
  constexpr int SIZE_B = TB ? BN * LDS_B : BK * LDS_B;
  __shared__ __align__(16) uint32_t As[2][SIZE_A];
  __shared__ __align__(16) uint32_t Bs[2][SIZE_B];

  const int tid = threadIdx.x;
  const int64_t z = blockIdx.z;
  const float* A = p.A + z * p.sA;
  const float* B = p.B + z * p.sB;
  float* C = p.C + z * p.sC;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

  auto a_at = [](int m, int k) { return TA ? k * LDS_A + m : m * LDS_A + k; };
  auto b_at = [](int k, int n) { return TB ? n * LDS_B + k : k * LDS_B + n; };
  TileLoad<BM, BK, T, !TA> la(TA ? A + m0 : A + int64_t(m0) * p.lda, p.lda, p.M - m0);
  TileLoad<BN, BK, T, TB> lb(TB ? B + int64_t(n0) * p.ldb : B + n0, p.ldb, p.N - n0);
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < la.L; ++i) As[buf][a_at(la.row(i), la.kidx(i))] = to_tf32(la.v[i]);
#pragma unroll
    for (int i = 0; i < lb.L; ++i) Bs[buf][b_at(lb.kidx(i), lb.row(i))] = to_tf32(lb.v[i]);
  };

  const int warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;
  const int wm0 = (warp / WARPS_N) * WM, wn0 = (warp % WARPS_N) * WN;

  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;

  const int ktiles = (p.K + BK - 1) / BK;
  la.fetch(p.K);
  lb.fetch(p.K);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int kt = 0; kt < ktiles; ++kt) {
    const bool more = kt + 1 < ktiles;
    if (more) {
      la.fetch(p.K - (kt + 1) * BK);
      lb.fetch(p.K - (kt + 1) * BK);
    }
    const uint32_t* as = As[buf];
    const uint32_t* bs = Bs[buf];
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      uint32_t af[MI][4], bf[NI][2];
#pragma unroll
      for (int i = 0; i < MI; ++i) {
        const int r = wm0 + i * 16 + g;
        af[i][0] = as[a_at(r, kk + t)];
        af[i][1] = as[a_at(r + 8, kk + t)];
        af[i][2] = as[a_at(r, kk + t + 4)];
        af[i][3] = as[a_at(r + 8, kk + t + 4)];
      }
#pragma unroll
      for (int j = 0; j < NI; ++j) {
        const int c = wn0 + j * 8 + g;
        bf[j][0] = bs[b_at(kk + t, c)];
        bf[j][1] = bs[b_at(kk + t + 4, c)];
      }
#pragma unroll
      for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) mma_tf32(acc[i][j], af[i], bf[j]);
    }
    if (more) {
      store(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }

#pragma unroll
  for (int i = 0; i < MI; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {  // h = 0: rows g (c0, c1); h = 1: rows g + 8 (c2, c3)
      const int gm = m0 + wm0 + i * 16 + g + 8 * h;
      if (gm >= p.M) continue;
      float* crow = C + int64_t(gm) * p.ldc;
#pragma unroll
      for (int j = 0; j < NI; ++j) {
#pragma unroll
        for (int q = 0; q < 2; ++q) {
          const int gn = n0 + wn0 + j * 8 + 2 * t + q;
          if (gn >= p.N) continue;
          const float v = p.alpha * acc[i][j][2 * h + q];
          crow[gn] = p.beta == 0.f ? v : v + p.beta * crow[gn];
        }
      }
    }
  }
}

template <int BM, int BN, int WM, int WN, bool TA, bool TB>
void launch_tf32_t(cudaStream_t st, const Problem& p, int64_t batch) {
  launch_chunks(p, TA, batch, BM, BN, [st](const Problem& q, dim3 grid) {
    sgemm_tf32_kernel<BM, BN, WM, WN, TA, TB><<<grid, (BM / WM) * (BN / WN) * 32, 0, st>>>(q);
  });
}

template <int BM, int BN, int WM, int WN>
void launch_tf32_tiles(cudaStream_t st, bool ta, bool tb, const Problem& p, int64_t batch) {
  if (ta) {
    if (tb) launch_tf32_t<BM, BN, WM, WN, true, true>(st, p, batch);
    else launch_tf32_t<BM, BN, WM, WN, true, false>(st, p, batch);
  } else {
    if (tb) launch_tf32_t<BM, BN, WM, WN, false, true>(st, p, batch);
    else launch_tf32_t<BM, BN, WM, WN, false, false>(st, p, batch);
  }
}

void gemm_tf32(const ExecContext& ctx, bool ta, bool tb, const Problem& p, int64_t batch) {
  SDKD_CHECK(ctx.cc_major >= 8,
             "gemm: the tf32 backend needs a tensor-core GPU of compute capability 8.0 or newer; "
             "use the simt or cublas backend (sdkd::set_gemm_backend) on this device");
  const cudaStream_t st = stream_of(ctx);
  if (prefer_small_tiles(ctx, p, batch, 128, 128)) launch_tf32_tiles<64, 64, 32, 32>(st, ta, tb, p, batch);
  else launch_tf32_tiles<128, 128, 64, 32>(st, ta, tb, p, batch);
}

// ---------------------------------------------------------------------------------------
// 3. cuBLAS (column-major): a row-major C (M x N, ldc) is a column-major C^T (N x M, ldc),
// and C^T = op(B)^T op(A)^T, where a row-major operand read column-major is already its
// transpose. So B goes first with its own transpose flag, then A, with m = N and n = M.
// Full fp32 (the handle keeps CUBLAS_DEFAULT_MATH): this is the accuracy and speed yardstick.
// ---------------------------------------------------------------------------------------

void gemm_cublas(const ExecContext& ctx, bool ta, bool tb, const Problem& p, int64_t batch) {
  cublasHandle_t h = blas_of(ctx);
  const auto op = [](bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; };
  for (int64_t b0 = 0; b0 < batch; b0 += INT_MAX) {
    const int nb = int(std::min<int64_t>(INT_MAX, batch - b0));
    SDKD_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op(tb), op(ta), p.N, p.M, p.K, &p.alpha, p.B + b0 * p.sB,
                                                int(p.ldb), p.sB, p.A + b0 * p.sA, int(p.lda), p.sA, &p.beta,
                                                p.C + b0 * p.sC, int(p.ldc), p.sC, nb));
  }
}

// ---------------------------------------------------------------------------------------
// Linear-layer helpers
// ---------------------------------------------------------------------------------------

__global__ void add_row_bias_kernel(float* __restrict__ C, const float* __restrict__ bias, int64_t rows,
                                    int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    C[i] += bias[i % cols];
}

// Column sums in two fixed-order passes. Pass 1: block (32 x 8) sums a chunk of kChunkRows
// rows for 32 columns (coalesced along the row), reduces its 8 partials in shared memory in
// a fixed order and writes one partial per (chunk, column). Pass 2: one thread per column
// adds the chunk partials in chunk order. Same inputs -> same bits, whatever the timing.
constexpr int kColX = 32, kColY = 8;
constexpr int64_t kChunkRows = 256;
constexpr int64_t kMaxChunks = 4096;

int64_t column_sum_chunk_rows(int64_t rows) {
  const int64_t chunks = std::min(kMaxChunks, std::max<int64_t>(1, (rows + kChunkRows - 1) / kChunkRows));
  return (rows + chunks - 1) / chunks;  // >= kChunkRows, so chunks * chunk_rows covers rows
}

__global__ void column_partial_kernel(float* __restrict__ partial, const float* __restrict__ G, int64_t rows,
                                      int64_t cols, int64_t chunk_rows) {
  __shared__ float part[kColY][kColX + 1];
  const int64_t c = blockIdx.x * int64_t(kColX) + threadIdx.x;
  const int64_t r0 = blockIdx.y * chunk_rows, r1 = min(rows, r0 + chunk_rows);
  float s = 0.f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kColY) s += G[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = 0.f;
#pragma unroll
    for (int y = 0; y < kColY; ++y) total += part[y][threadIdx.x];
    partial[blockIdx.y * cols + c] = total;
  }
}

__global__ void column_finish_kernel(float* __restrict__ out, const float* __restrict__ partial, int64_t chunks,
                                     int64_t cols) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= cols) return;
  float s = 0.f;
  for (int64_t i = 0; i < chunks; ++i) s += partial[i * cols + c];
  out[c] = s;
}

}  // namespace

void gemm(const ExecContext& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
          float* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  SDKD_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, "gemm: negative size (M ", M, ", N ", N, ", K ", K,
             ", batch ", batch, ")");
  SDKD_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX, "gemm: sizes must fit 32 bits, got M ", M, ", N ", N,
             ", K ", K);
  SDKD_CHECK(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N && lda <= INT_MAX && ldb <= INT_MAX &&
                 ldc <= INT_MAX,
             "gemm: bad leading dimensions lda ", lda, ", ldb ", ldb, ", ldc ", ldc, " for M ", M, ", N ", N, ", K ", K,
             " (trans_a ", trans_a, ", trans_b ", trans_b, ")");
  if (M == 0 || N == 0 || batch == 0) return;
  SDKD_CHECK(batch <= 1 || stride_c != 0, "gemm: batch ", batch, " with stride_c 0 would race on C");
  const int64_t ld_a = std::max<int64_t>(lda, 1), ld_b = std::max<int64_t>(ldb, 1), ld_c = std::max<int64_t>(ldc, 1);
  const Problem p{int(M), int(N), int(K), alpha, beta, A, ld_a, stride_a, B, ld_b, stride_b, C, ld_c, stride_c};
  // K == 0 is C = beta * C; our SIMT kernel does that directly, so no backend special-cases it.
  const GemmBackend backend = K == 0 ? GemmBackend::simt : ctx.gemm;
  switch (backend) {
    case GemmBackend::simt: gemm_simt(ctx, trans_a, trans_b, p, batch); break;
    case GemmBackend::tf32: gemm_tf32(ctx, trans_a, trans_b, p, batch); break;
    case GemmBackend::cublas: gemm_cublas(ctx, trans_a, trans_b, p, batch); break;
  }
}

void add_row_bias(const ExecContext& ctx, float* C, const float* bias, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  add_row_bias_kernel<<<grid_for(rows * cols), kThreads, 0, stream_of(ctx)>>>(C, bias, rows, cols);
  SDKD_CUDA_LAUNCH_CHECK();
}

void column_sum(const ExecContext& ctx, float* out, const float* G, int64_t rows, int64_t cols) {
  if (cols <= 0) return;
  const cudaStream_t st = stream_of(ctx);
  if (rows <= 0) {
    SDKD_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(cols) * sizeof(float), st));
    return;
  }
  const int64_t chunk = column_sum_chunk_rows(rows);
  const int64_t chunks = (rows + chunk - 1) / chunk;
  const int64_t col_blocks = (cols + kColX - 1) / kColX;
  SDKD_CHECK(col_blocks <= INT_MAX, "column_sum: too many columns (", cols, ")");
  // Tall inputs: one partial per (chunk, column) in scratch, added in chunk order by pass 2.
  const Workspace partials(ctx, chunks > 1 ? size_t(chunks * cols) * sizeof(float) : 0);
  // chunks <= kMaxChunks < 65535, so it fits grid.y.
  column_partial_kernel<<<dim3(unsigned(col_blocks), unsigned(chunks)), dim3(kColX, kColY), 0, st>>>(
      chunks == 1 ? out : partials.as<float>(), G, rows, cols, chunk);
  SDKD_CUDA_LAUNCH_CHECK();
  if (chunks > 1) {
    column_finish_kernel<<<grid_for(cols, kThreads, INT_MAX), kThreads, 0, st>>>(out, partials.as<float>(), chunks,
                                                                                   cols);
    SDKD_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace sdkd::gpu
