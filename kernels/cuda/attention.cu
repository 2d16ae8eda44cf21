// Fused attention forward/backward on the GPU (see attention.hpp for the maths and layouts).
//
// Every kernel uses 128 threads seen as a 16 x 8 grid (ty, tx). A tile pairs an "owned" block of
// rows (16 * TM of them, TM per thread: rows ty*TM + i) with a "streamed" block of 64 rows
// (8 per thread: rows tx + 8 j). Operand tiles sit in shared memory transposed and padded,
// X[k * (rows + 1) + r], so that both the score products (reading a column k of two tiles)
// and the P·X products (reading row r of a tile at columns tx + 8 jj) are free of bank
// conflicts. Head dimensions are padded with zeros to the template size D, which changes no
// dot product; N and M tails are predicated (zero operands, -inf scores, P = 0).
#include "kernels/cuda/attention.hpp"

#include <cmath>

#include "kernels/cuda/common.cuh"

namespace sdkd::gpu {

namespace {

constexpr int kTx = 8;                     // threads along the streamed dimension
constexpr int kTy = 16;                    // threads along the owned dimension
constexpr int kAttnThreads = kTx * kTy;    // 128
constexpr int kCols = 64;                  // streamed rows per tile
constexpr int kColsPerThread = kCols / kTx;
constexpr int kLd = kCols + 1;             // padded stride of a transposed streamed tile

// dst[k * (ROWS + 1) + r] = src[(row0 + r) * d + k], zero outside the matrix or beyond d.
template <int D, int ROWS>
__device__ __forceinline__ void load_transposed(float* dst, const float* src, int64_t row0, int64_t rows_total,
                                                int d) {
  for (int e = threadIdx.x; e < ROWS * D; e += kAttnThreads) {
    const int r = e / D, k = e % D;
    const int64_t row = row0 + r;
    dst[k * (ROWS + 1) + r] = (row < rows_total && k < d) ? src[row * d + k] : 0.0f;
  }
}

// acc[i][j] = sum_k A[k][ty*TM + i] * B[k][tx + 8 j]: one thread's share of (rows x 64)
// scores from two transposed tiles, A with LDA = owned rows + 1, B a streamed tile.
template <int D, int TM, int LDA>
__device__ __forceinline__ void tile_dot(float (&acc)[TM][kColsPerThread], const float* A, const float* B, int ty,
                                         int tx) {
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) acc[i][j] = 0.0f;
#pragma unroll 4
  for (int k = 0; k < D; ++k) {
    float a[TM], b[kColsPerThread];
#pragma unroll
    for (int i = 0; i < TM; ++i) a[i] = A[k * LDA + ty * TM + i];
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) b[j] = B[k * kLd + tx + kTx * j];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// acc[i][jj] += sum_{t < T} P(ty*TM + i, t) * X[t][tx + 8 jj], with X a transposed tile
// (X[t][n] at Xt[n * LDX + t]) and P(r, t) = P[r * LDP + t], or P[t * LDP + r] when TRANS.
template <int TM, int NJ, int T, bool TRANS, int LDP, int LDX>
__device__ __forceinline__ void tile_accum(float (&acc)[TM][NJ], const float* P, const float* Xt, int ty, int tx) {
#pragma unroll 4
  for (int t = 0; t < T; ++t) {
    float p[TM], x[NJ];
#pragma unroll
    for (int i = 0; i < TM; ++i) p[i] = TRANS ? P[t * LDP + ty * TM + i] : P[(ty * TM + i) * LDP + t];
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) x[jj] = Xt[(tx + kTx * jj) * LDX + t];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int jj = 0; jj < NJ; ++jj) acc[i][jj] = fmaf(p[i], x[jj], acc[i][jj]);
  }
}

// Reductions over the 8 lanes (tx) that share a row group; they are adjacent lanes of a warp.
__device__ __forceinline__ float row_group_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 4));
}
__device__ __forceinline__ float row_group_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  return v + __shfl_xor_sync(0xffffffffu, v, 4);
}

// Forward: one block per (slice, tile of 16*TM queries); K/V stream through in tiles of 64.
template <int D, int TM>
__global__ void __launch_bounds__(kAttnThreads)
    attention_forward_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                             float* __restrict__ o, float* __restrict__ lse, int64_t N, int64_t M, int d, float scale) {
  constexpr int R = kTy * TM, NJ = D / kTx;
  extern __shared__ float smem[];
  float* Qt = smem;              // D x (R + 1)
  float* Kt = Qt + D * (R + 1);  // D x kLd
  float* Vt = Kt + D * kLd;      // D x kLd
  float* Ps = Vt + D * kLd;      // R x kLd, probabilities of the current tile
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
  const int64_t bh = blockIdx.x, q0 = int64_t(blockIdx.y) * R;
  q += bh * N * d;
  o += bh * N * d;
  lse += bh * N;
  k += bh * M * d;
  v += bh * M * d;
  load_transposed<D, R>(Qt, q, q0, N, d);

  float m[TM], lpart[TM], acc[TM][NJ];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    m[i] = -INFINITY;
    lpart[i] = 0.0f;  // this thread's share of the row sum, under the running max m[i]
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) acc[i][jj] = 0.0f;
  }
  for (int64_t c0 = 0; c0 < M; c0 += kCols) {
    __syncthreads();  // the previous tile's Kt, Vt and Ps are no longer read
    load_transposed<D, kCols>(Kt, k, c0, M, d);
    load_transposed<D, kCols>(Vt, v, c0, M, d);
    __syncthreads();
    float s[TM][kColsPerThread];
    tile_dot<D, TM, R + 1>(s, Qt, Kt, ty, tx);
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        s[i][j] = c0 + tx + kTx * j < M ? s[i][j] * scale : -INFINITY;
        tile_max = fmaxf(tile_max, s[i][j]);
      }
      // Column c0 is always valid, so the group's maximum is finite.
      const float new_max = fmaxf(m[i], row_group_max(tile_max));
      const float correction = expf(m[i] - new_max);  // 0 on the first tile (m = -inf)
      float tile_sum = 0.0f;
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        const float p = expf(s[i][j] - new_max);
        Ps[(ty * TM + i) * kLd + tx + kTx * j] = p;
        tile_sum += p;
      }
      lpart[i] = lpart[i] * correction + tile_sum;
      m[i] = new_max;
#pragma unroll
      for (int jj = 0; jj < NJ; ++jj) acc[i][jj] *= correction;
    }
    __syncthreads();
    tile_accum<TM, NJ, kCols, false, kLd, kLd>(acc, Ps, Vt, ty, tx);  // acc += P V
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const float l = row_group_sum(lpart[i]);
    const int64_t row = q0 + ty * TM + i;
    if (row >= N) continue;
    const float inv = 1.0f / l;
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) {
      const int n = tx + kTx * jj;
      if (n < d) o[row * d + n] = acc[i][jj] * inv;
    }
    if (tx == 0) lse[row] = m[i] + logf(l);
  }
}

// delta[r] = sum_n dout[r][n] * o[r][n]: one warp per row.
__global__ void attention_delta_kernel(const float* __restrict__ o, const float* __restrict__ dout,
                                       float* __restrict__ delta, int64_t rows, int d) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    float acc = 0.0f;
    for (int n = lane; n < d; n += 32) acc = fmaf(dout[r * d + n], o[r * d + n], acc);
    acc = warp_sum(acc);
    if (lane == 0) delta[r] = acc;
  }
}

// Backward over key tiles: one block per (slice, tile of 16*TMK keys), queries stream through
// in tiles of 64. Accumulates dK, dV in registers and writes them once; with WITH_DQ it also
// adds each tile's share of dQ into global memory with atomicAdd (dq must be zeroed first).
template <int D, int TMK, bool WITH_DQ>
__global__ void __launch_bounds__(kAttnThreads)
    attention_backward_kv_kernel(const float* __restrict__ q, const float* __restrict__ k,
                                 const float* __restrict__ v, const float* __restrict__ lse,
                                 const float* __restrict__ delta, const float* __restrict__ dout, float* dq,
                                 float* __restrict__ dk, float* __restrict__ dv, int64_t N, int64_t M, int d,
                                 float scale) {
  constexpr int KR = kTy * TMK, NJ = D / kTx, TMQ = kCols / kTy;
  extern __shared__ float smem[];
  float* Kt = smem;                 // D x (KR + 1)
  float* Vt = Kt + D * (KR + 1);    // D x (KR + 1)
  float* Qt = Vt + D * (KR + 1);    // D x kLd
  float* dOt = Qt + D * kLd;        // D x kLd
  float* PS = dOt + D * kLd;        // KR x kLd: P^T, then dS^T, of the current tile
  float* Ls = PS + KR * kLd;        // kCols
  float* Ds = Ls + kCols;           // kCols
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
  const int64_t bh = blockIdx.x, k0 = int64_t(blockIdx.y) * KR;
  q += bh * N * d;
  dout += bh * N * d;
  lse += bh * N;
  delta += bh * N;
  k += bh * M * d;
  v += bh * M * d;
  dk += bh * M * d;
  dv += bh * M * d;
  if (WITH_DQ) dq += bh * N * d;
  load_transposed<D, KR>(Kt, k, k0, M, d);
  load_transposed<D, KR>(Vt, v, k0, M, d);

  float acc_k[TMK][NJ], acc_v[TMK][NJ];
#pragma unroll
  for (int i = 0; i < TMK; ++i)
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) acc_k[i][jj] = acc_v[i][jj] = 0.0f;

  for (int64_t i0 = 0; i0 < N; i0 += kCols) {
    __syncthreads();  // the previous tile's Qt, dOt, PS, Ls, Ds are no longer read
    load_transposed<D, kCols>(Qt, q, i0, N, d);
    load_transposed<D, kCols>(dOt, dout, i0, N, d);
    for (int t = threadIdx.x; t < kCols; t += kAttnThreads) {
      const int64_t row = i0 + t;
      Ls[t] = row < N ? lse[row] : INFINITY;  // P = exp(s - inf) = 0 for missing queries
      Ds[t] = row < N ? delta[row] : 0.0f;
    }
    __syncthreads();
    // P^T = exp(s K Q^T - L) and dP^T = V dO^T for this thread's keys x queries.
    float p[TMK][kColsPerThread], ds[TMK][kColsPerThread];
    tile_dot<D, TMK, KR + 1>(p, Kt, Qt, ty, tx);
#pragma unroll
    for (int i = 0; i < TMK; ++i) {
      const bool key_ok = k0 + ty * TMK + i < M;
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        const int c = tx + kTx * j;
        p[i][j] = key_ok ? expf(p[i][j] * scale - Ls[c]) : 0.0f;
        PS[(ty * TMK + i) * kLd + c] = p[i][j];
      }
    }
    tile_dot<D, TMK, KR + 1>(ds, Vt, dOt, ty, tx);
#pragma unroll
    for (int i = 0; i < TMK; ++i)
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) ds[i][j] = p[i][j] * (ds[i][j] - Ds[tx + kTx * j]);
    __syncthreads();
    tile_accum<TMK, NJ, kCols, false, kLd, kLd>(acc_v, PS, dOt, ty, tx);  // dV += P^T dO
    __syncthreads();
#pragma unroll
    for (int i = 0; i < TMK; ++i)
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) PS[(ty * TMK + i) * kLd + tx + kTx * j] = ds[i][j];
    __syncthreads();
    tile_accum<TMK, NJ, kCols, false, kLd, kLd>(acc_k, PS, Qt, ty, tx);  // dK += dS^T Q (scaled at the end)
    if (WITH_DQ) {
      // dQ_i += s dS K_j: this block's share, for query rows ty*4 + i of the tile.
      float acc_q[TMQ][NJ];
#pragma unroll
      for (int i = 0; i < TMQ; ++i)
#pragma unroll
        for (int jj = 0; jj < NJ; ++jj) acc_q[i][jj] = 0.0f;
      tile_accum<TMQ, NJ, KR, true, kLd, KR + 1>(acc_q, PS, Kt, ty, tx);
#pragma unroll
      for (int i = 0; i < TMQ; ++i) {
        const int64_t row = i0 + ty * TMQ + i;
        if (row >= N) continue;
#pragma unroll
        for (int jj = 0; jj < NJ; ++jj) {
          const int n = tx + kTx * jj;
          if (n < d) atomicAdd(dq + row * d + n, acc_q[i][jj] * scale);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < TMK; ++i) {
    const int64_t row = k0 + ty * TMK + i;
    if (row >= M) continue;
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) {
      const int n = tx + kTx * jj;
      if (n < d) {
        dk[row * d + n] = acc_k[i][jj] * scale;
        dv[row * d + n] = acc_v[i][jj];
      }
    }
  }
}

// Deterministic dQ: one block per (slice, tile of 16*TM queries), keys stream through in a
// fixed order; P and dS are recomputed here instead of shared through atomics.
template <int D, int TM>
__global__ void __launch_bounds__(kAttnThreads)
    attention_backward_q_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                const float* __restrict__ lse, const float* __restrict__ delta,
                                const float* __restrict__ dout, float* __restrict__ dq, int64_t N, int64_t M, int d,
                                float scale) {
  constexpr int R = kTy * TM, NJ = D / kTx;
  extern __shared__ float smem[];
  float* Qt = smem;               // D x (R + 1)
  float* dOt = Qt + D * (R + 1);  // D x (R + 1)
  float* Kt = dOt + D * (R + 1);  // D x kLd
  float* Vt = Kt + D * kLd;       // D x kLd
  float* DS = Vt + D * kLd;       // R x kLd
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
  const int64_t bh = blockIdx.x, q0 = int64_t(blockIdx.y) * R;
  q += bh * N * d;
  dout += bh * N * d;
  dq += bh * N * d;
  lse += bh * N;
  delta += bh * N;
  k += bh * M * d;
  v += bh * M * d;
  load_transposed<D, R>(Qt, q, q0, N, d);
  load_transposed<D, R>(dOt, dout, q0, N, d);
  float L[TM], Dr[TM], acc[TM][NJ];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t row = q0 + ty * TM + i;
    L[i] = row < N ? lse[row] : INFINITY;
    Dr[i] = row < N ? delta[row] : 0.0f;
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) acc[i][jj] = 0.0f;
  }
  for (int64_t c0 = 0; c0 < M; c0 += kCols) {
    __syncthreads();
    load_transposed<D, kCols>(Kt, k, c0, M, d);
    load_transposed<D, kCols>(Vt, v, c0, M, d);
    __syncthreads();
    float p[TM][kColsPerThread], ds[TM][kColsPerThread];
    tile_dot<D, TM, R + 1>(p, Qt, Kt, ty, tx);
    tile_dot<D, TM, R + 1>(ds, dOt, Vt, ty, tx);
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        const int c = tx + kTx * j;
        const float pij = c0 + c < M ? expf(p[i][j] * scale - L[i]) : 0.0f;
        DS[(ty * TM + i) * kLd + c] = pij * (ds[i][j] - Dr[i]);
      }
    __syncthreads();
    tile_accum<TM, NJ, kCols, false, kLd, kLd>(acc, DS, Kt, ty, tx);  // dQ += dS K
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t row = q0 + ty * TM + i;
    if (row >= N) continue;
#pragma unroll
    for (int jj = 0; jj < NJ; ++jj) {
      const int n = tx + kTx * jj;
      if (n < d) dq[row * d + n] = acc[i][jj] * scale;
    }
  }
}

// Owned rows per thread for each padded head dimension: 4 (64-row tiles) up to D = 64; 2 at
// D = 128 so that the register accumulators and the shared tiles stay within budget.
template <int D>
constexpr int rows_per_thread() {
  return D <= 64 ? 4 : 2;
}

template <int D>
constexpr size_t forward_smem() {
  constexpr int R = kTy * rows_per_thread<D>();
  return sizeof(float) * size_t(D * (R + 1) + 2 * D * kLd + R * kLd);
}
template <int D>
constexpr size_t backward_kv_smem() {
  constexpr int KR = kTy * rows_per_thread<D>();
  return sizeof(float) * size_t(2 * D * (KR + 1) + 2 * D * kLd + KR * kLd + 2 * kCols);
}
template <int D>
constexpr size_t backward_q_smem() {
  constexpr int R = kTy * rows_per_thread<D>();
  return sizeof(float) * size_t(2 * D * (R + 1) + 2 * D * kLd + R * kLd);
}

// Kernels above 48 KiB of dynamic shared memory must opt in; devices with less than the
// kernel needs (consumer parts with ~99 KiB at d > 64) get a clear error instead of a failed launch.
template <class Kernel>
void allow_smem(const ExecContext& ctx, Kernel* kernel, size_t bytes, const char* what, int64_t d) {
  const int optin = ctx.max_smem_optin;
  SDKD_CHECK(bytes <= size_t(optin), what, ": head dimension ", d, " needs ", bytes,
             " bytes of shared memory per block, the device allows ", optin);
  if (bytes > 48 * 1024)
    SDKD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

unsigned tiles(int64_t rows, int per_tile) { return unsigned((rows + per_tile - 1) / per_tile); }

float scale_of(int64_t d) { return float(1.0 / std::sqrt(double(d))); }  // as the CPU twin computes it

template <int D>
void forward_impl(const ExecContext& ctx, const AttentionShape& s, const float* q, const float* k, const float* v, float* o, float* lse) {
  constexpr int TM = rows_per_thread<D>();
  constexpr size_t smem = forward_smem<D>();
  auto* kernel = attention_forward_kernel<D, TM>;
  allow_smem(ctx, kernel, smem, "multi_head_attention (CUDA forward)", s.d);
  const dim3 grid(unsigned(s.BH), tiles(s.N, kTy * TM));
  kernel<<<grid, kAttnThreads, smem, stream_of(ctx)>>>(q, k, v, o, lse, s.N, s.M, int(s.d), scale_of(s.d));
  SDKD_CUDA_LAUNCH_CHECK();
}

template <int D>
void backward_impl(const ExecContext& ctx, const AttentionShape& s, const float* q, const float* k, const float* v,
                   const float* lse, const float* delta, const float* dout, float* dq, float* dk, float* dv) {
  constexpr int TM = rows_per_thread<D>();
  const float scale = scale_of(s.d);
  const dim3 grid_kv(unsigned(s.BH), tiles(s.M, kTy * TM));
  constexpr size_t smem_kv = backward_kv_smem<D>();
  if (ctx.deterministic) {
    auto* kv = attention_backward_kv_kernel<D, TM, false>;
    allow_smem(ctx, kv, smem_kv, "multi_head_attention (CUDA backward dK/dV)", s.d);
    kv<<<grid_kv, kAttnThreads, smem_kv, stream_of(ctx)>>>(q, k, v, lse, delta, dout, nullptr, dk, dv, s.N, s.M,
                                                              int(s.d), scale);
    SDKD_CUDA_LAUNCH_CHECK();
    constexpr size_t smem_q = backward_q_smem<D>();
    auto* qk = attention_backward_q_kernel<D, TM>;
    allow_smem(ctx, qk, smem_q, "multi_head_attention (CUDA backward dQ)", s.d);
    const dim3 grid_q(unsigned(s.BH), tiles(s.N, kTy * TM));
    qk<<<grid_q, kAttnThreads, smem_q, stream_of(ctx)>>>(q, k, v, lse, delta, dout, dq, s.N, s.M, int(s.d), scale);
    SDKD_CUDA_LAUNCH_CHECK();
  } else {
    SDKD_CUDA_CHECK(cudaMemsetAsync(dq, 0, size_t(s.BH * s.N * s.d) * sizeof(float), stream_of(ctx)));
    auto* kv = attention_backward_kv_kernel<D, TM, true>;
    allow_smem(ctx, kv, smem_kv, "multi_head_attention (CUDA backward)", s.d);
    kv<<<grid_kv, kAttnThreads, smem_kv, stream_of(ctx)>>>(q, k, v, lse, delta, dout, dq, dk, dv, s.N, s.M,
                                                              int(s.d), scale);
    SDKD_CUDA_LAUNCH_CHECK();
  }
}

// The template head dimension a runtime d is padded to.
int padded_head_dim(int64_t d) { return d <= 16 ? 16 : d <= 32 ? 32 : d <= 64 ? 64 : 128; }

}  // namespace

void attention_check_dims(const AttentionShape& s) {
  const char* op = "multi_head_attention (CUDA)";
  SDKD_CHECK(s.BH >= 0 && s.BH <= 0x7fffffff, op, ": batch*heads must be in [0, 2^31), got ", s.BH);
  SDKD_CHECK(s.N >= 1 && s.M >= 1, op, ": need at least one query and one key row, got N = ", s.N, ", M = ", s.M);
  SDKD_CHECK(s.d >= 1 && s.d <= kAttentionMaxHeadDim, op, ": head dimension must be in [1, ", kAttentionMaxHeadDim,
             "], got ", s.d);
  // Tiles of 32 rows at the smallest go along gridDim.y (at most 65535).
  SDKD_CHECK(s.N <= 32 * 65535LL && s.M <= 32 * 65535LL, op, ": sequences up to ", 32 * 65535LL,
             " rows, got N = ", s.N, ", M = ", s.M);
}

void attention_forward(const ExecContext& ctx, const AttentionShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  attention_check_dims(s);
  if (s.BH == 0) return;
  switch (padded_head_dim(s.d)) {
    case 16: forward_impl<16>(ctx, s, q, k, v, o, lse); break;
    case 32: forward_impl<32>(ctx, s, q, k, v, o, lse); break;
    case 64: forward_impl<64>(ctx, s, q, k, v, o, lse); break;
    default: forward_impl<128>(ctx, s, q, k, v, o, lse); break;
  }
}

void attention_backward(const ExecContext& ctx, const AttentionShape& s, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, const float* dout, float* dq, float* dk,
                        float* dv) {
  attention_check_dims(s);
  if (s.BH == 0) return;
  const int64_t rows = s.BH * s.N;
  const Workspace delta_rows(ctx, size_t(rows) * sizeof(float));  // rowsum(dO * O) per query row
  float* delta = delta_rows.as<float>();
  constexpr int kDeltaThreads = 256;
  attention_delta_kernel<<<grid_for(rows * 32, kDeltaThreads), kDeltaThreads, 0, stream_of(ctx)>>>(o, dout, delta,
                                                                                                     rows, int(s.d));
  SDKD_CUDA_LAUNCH_CHECK();
  switch (padded_head_dim(s.d)) {
    case 16: backward_impl<16>(ctx, s, q, k, v, lse, delta, dout, dq, dk, dv); break;
    case 32: backward_impl<32>(ctx, s, q, k, v, lse, delta, dout, dq, dk, dv); break;
    case 64: backward_impl<64>(ctx, s, q, k, v, lse, delta, dout, dq, dk, dv); break;
    default: backward_impl<128>(ctx, s, q, k, v, lse, delta, dout, dq, dk, dv); break;
  }
}

}  // namespace sdkd::gpu
