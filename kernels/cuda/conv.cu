// Implicit-GEMM convolution. Forward, backward-data and backward-weight are three GEMMs over
// one tiled fp32 main loop (8-deep shared-memory stages, double-buffered, an 8 x TN register
// tile per thread); each direction brings a loader that gathers its two operands straight from
// the tensors, predicating padding and out-of-range taps to zero, so no im2col matrix exists.
//
//   forward   C[m, n] = sum_k A[m, k] B[k, n]   m = (n_img, oh, ow), n = c_out in group,
//             A = im2col(x) gathered per pixel,  k = (c_in, kh, kw): the weight's own order
//   bwd-data  per residue class (ih + pad) mod stride: m = (n_img, ih, iw) of that class,
//             n = c_in in group, k = (c_out, taps that reach the class): A = dy gathered
//   bwd-wght  m = k of forward (c_in, kh, kw), n = c_out in group, reduction over
//             (n_img, oh, ow), optionally split over blocks (atomics, or fixed-order partials)
#include <algorithm>
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv.hpp"

namespace sdkd::gpu {
namespace {

constexpr int BK = 8;             // GEMM depth per shared-memory stage
constexpr int kFar = 1 << 29;     // a tap offset that fails every bounds check

// n / d for a divisor fixed per launch: multiply-high, add, shift. Exact for 0 <= n < 2^31
// (the caller keeps every index below 2^31).
struct FastDiv {
  uint32_t mul = 1, shift = 0;
  FastDiv() = default;
  __host__ __device__ explicit FastDiv(uint32_t d) {
    while ((uint64_t(1) << shift) < d) ++shift;
    mul = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ int div(int n) const {
    return int((__umulhi(uint32_t(n), mul) + uint32_t(n)) >> shift);
  }
};

// Tile shapes: BM x BN outputs per block, 8 x TN per thread.
template <int BM_, int BN_, int TN_>
struct Tile {
  static constexpr int BM = BM_, BN = BN_, TM = 8, TN = TN_;
  static constexpr int kThreads = (BM / TM) * (BN / TN);
  static constexpr int AS = BM + 4, BS = BN + 4;  // padded rows: depth-major stores hit 32 banks
  static constexpr int A_PER = BK * BM / kThreads, B_PER = BK * BN / kThreads;
  static_assert(kThreads % BM == 0 && kThreads % BK == 0, "loader mappings need these");
  static_assert(TN == 2 || TN == 4 || TN == 8, "TN is 2, 4 or 8");
};
using TileL = Tile<128, 64, 8>;   // wide GEMM N, many blocks
using TileM = Tile<64, 64, 8>;    // wide GEMM N, few blocks: twice the blocks of TileL
using TileS = Tile<128, 32, 4>;   // GEMM N <= 32
using TileXS = Tile<128, 16, 2>;  // GEMM N <= 16
enum class TileKind { L, M, S, XS };

template <class C>
struct Smem {
  float a[2][BK][C::AS];
  float b[2][BK][C::BS];
};

// The thread's rows are two groups of four (ty*4 and BM/2 + ty*4), its columns likewise for
// TN = 8, so each shared-memory read is a float4 and a warp's reads broadcast.
template <class C>
__device__ __forceinline__ int tile_row(int ty, int i) {
  return i < 4 ? ty * 4 + i : C::BM / 2 + ty * 4 + (i - 4);
}
template <class C>
__device__ __forceinline__ int tile_col(int tx, int j) {
  if constexpr (C::TN == 8) return j < 4 ? tx * 4 + j : C::BN / 2 + tx * 4 + (j - 4);
  return tx * C::TN + j;
}

template <class C>
__device__ __forceinline__ void tile_fma(const Smem<C>& sm, int buf, float (&acc)[8][C::TN], int tx, int ty) {
#pragma unroll
  for (int kk = 0; kk < BK; ++kk) {
    float a[8], b[C::TN];
    const float4 a0 = *reinterpret_cast<const float4*>(&sm.a[buf][kk][ty * 4]);
    const float4 a1 = *reinterpret_cast<const float4*>(&sm.a[buf][kk][C::BM / 2 + ty * 4]);
    a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w;
    a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
    if constexpr (C::TN == 8) {
      const float4 b0 = *reinterpret_cast<const float4*>(&sm.b[buf][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&sm.b[buf][kk][C::BN / 2 + tx * 4]);
      b[0] = b0.x, b[1] = b0.y, b[2] = b0.z, b[3] = b0.w;
      b[4] = b1.x, b[5] = b1.y, b[6] = b1.z, b[7] = b1.w;
    } else if constexpr (C::TN == 4) {
      const float4 b0 = *reinterpret_cast<const float4*>(&sm.b[buf][kk][tx * 4]);
      b[0] = b0.x, b[1] = b0.y, b[2] = b0.z, b[3] = b0.w;
    } else {
      const float2 b0 = *reinterpret_cast<const float2*>(&sm.b[buf][kk][tx * 2]);
      b[0] = b0.x, b[1] = b0.y;
    }
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < C::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// Loader L: load(t) fetches stage t from global memory into registers, store(sm, buf) puts
// them into shared memory. The global loads of stage t+1 are in flight during stage t's FMAs;
// two buffers need one barrier per stage. `ntiles` is uniform over the block.
template <class C, class L>
__device__ __forceinline__ void gemm_mainloop(L& ld, int ntiles, Smem<C>& sm, float (&acc)[8][C::TN]) {
  const int tx = threadIdx.x % (C::BN / C::TN), ty = threadIdx.x / (C::BN / C::TN);
  if (ntiles <= 0) return;
  ld.load(0);
  ld.store(sm, 0);
  __syncthreads();
  for (int t = 0; t < ntiles; ++t) {
    const int cur = t & 1;
    if (t + 1 < ntiles) ld.load(t + 1);
    tile_fma<C>(sm, cur, acc, tx, ty);
    if (t + 1 < ntiles) ld.store(sm, cur ^ 1);
    __syncthreads();
  }
}

// Writes the thread's results: (row i, col j) goes to out[row_off[i] + n * col_stride], n =
// n0 + column, for n < n_end; row_off < 0 marks rows past the end. With `vec` the caller
// guarantees that each aligned group of four rows is four consecutive, 16-byte aligned
// addresses, stored as one float4. Rows grow within a group, so the last one valid means all.
template <class C, bool Atomic>
__device__ __forceinline__ void store_tile(float* out, const float (&acc)[8][C::TN], const int (&row_off)[8], int n0,
                                           int n_end, int col_stride, const float* bias, bool vec) {
  const int tx = threadIdx.x % (C::BN / C::TN);
#pragma unroll
  for (int j = 0; j < C::TN; ++j) {
    const int n = n0 + tile_col<C>(tx, j);
    if (n >= n_end) continue;
    const float bv = bias != nullptr ? bias[n] : 0.0f;
    const int col = n * col_stride;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int i0 = 4 * h;
      if (!Atomic && vec && row_off[i0 + 3] >= 0) {
        const float4 v = make_float4(acc[i0][j] + bv, acc[i0 + 1][j] + bv, acc[i0 + 2][j] + bv, acc[i0 + 3][j] + bv);
        *reinterpret_cast<float4*>(out + row_off[i0] + col) = v;
        continue;
      }
#pragma unroll
      for (int i = i0; i < i0 + 4; ++i) {
        if (row_off[i] < 0) continue;
        if constexpr (Atomic) atomicAdd(out + row_off[i] + col, acc[i][j]);
        else out[row_off[i] + col] = acc[i][j] + bv;
      }
    }
  }
}

// ---- forward -----------------------------------------------------------------------------

struct FwdParams {
  DeviceConvProblem g;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
  int M, K, Cig, Cog;
  FastDiv div_P, div_Wo, div_kHW, div_kW;
  bool vec;
};

// A (im2col of x) is loaded pixel-fast: the thread owns tile row mm for the whole loop (its
// pixel's coordinates are computed once) and depth slots kk0 + i*KSTEP. B (the weight, k
// contiguous per output channel) is loaded depth-fast: slot kb, channels nb0 + i*NSTEP.
template <class C>
struct FwdLoader {
  static constexpr int KSTEP = C::kThreads / C::BM, NSTEP = C::kThreads / BK;
  const FwdParams& p;
  const float* w_g;
  int mm, kk0, kb, nb0, n0, x_base = 0, ih0 = 0, iw0 = 0;
  bool m_ok;
  float ra[C::A_PER], rb[C::B_PER];

  __device__ __forceinline__ FwdLoader(const FwdParams& prm, int grp, int m0, int n0_) : p(prm), n0(n0_) {
    const DeviceConvProblem& g = p.g;
    const int tid = threadIdx.x;
    mm = tid % C::BM;
    kk0 = tid / C::BM;
    kb = tid % BK;
    nb0 = tid / BK;
    w_g = p.w + grp * p.Cog * p.K;
    const int m = m0 + mm;
    m_ok = m < p.M;
    if (m_ok) {
      const int P = g.Ho * g.Wo;
      const int b = p.div_P.div(m), pix = m - b * P;
      const int oh = p.div_Wo.div(pix), ow = pix - oh * g.Wo;
      x_base = (b * g.img_channels + grp * p.Cig) * g.H * g.W;
      ih0 = oh * g.stride_h - g.pad_h;
      iw0 = ow * g.stride_w - g.pad_w;
    }
  }
  __device__ __forceinline__ void load(int t) {
    const DeviceConvProblem& g = p.g;
    const int k0 = t * BK, kHW = g.kH * g.kW;
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) {
      const int k = k0 + kk0 + i * KSTEP;
      float v = 0.0f;
      if (m_ok && k < p.K) {
        const int ci = p.div_kHW.div(k), r = k - ci * kHW;
        const int kh = p.div_kW.div(r), kw = r - kh * g.kW;
        const int ih = ih0 + kh * g.dil_h, iw = iw0 + kw * g.dil_w;
        if (unsigned(ih) < unsigned(g.H) && unsigned(iw) < unsigned(g.W))
          v = __ldg(p.x + x_base + (ci * g.H + ih) * g.W + iw);
      }
      ra[i] = v;
    }
    const int k = k0 + kb;
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) {
      const int n = n0 + nb0 + i * NSTEP;
      rb[i] = (n < p.Cog && k < p.K) ? __ldg(w_g + n * p.K + k) : 0.0f;
    }
  }
  __device__ __forceinline__ void store(Smem<C>& sm, int buf) const {
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) sm.a[buf][kk0 + i * KSTEP][mm] = ra[i];
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) sm.b[buf][kb][nb0 + i * NSTEP] = rb[i];
  }
};

template <class C>
__global__ void __launch_bounds__(C::kThreads) conv_fwd_kernel(const __grid_constant__ FwdParams p) {
  __shared__ __align__(16) Smem<C> sm;
  const int grp = blockIdx.z, m0 = blockIdx.x * C::BM, n0 = blockIdx.y * C::BN;
  FwdLoader<C> ld(p, grp, m0, n0);
  float acc[8][C::TN] = {};
  gemm_mainloop<C>(ld, (p.K + BK - 1) / BK, sm, acc);

  const int P = p.g.Ho * p.g.Wo, ty = threadIdx.x / (C::BN / C::TN);
  int row_off[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + tile_row<C>(ty, i);
    row_off[i] = -1;
    if (m < p.M) {
      const int b = p.div_P.div(m);
      row_off[i] = (b * p.g.col_channels + grp * p.Cog) * P + (m - b * P);
    }
  }
  store_tile<C, false>(p.y, acc, row_off, n0, p.Cog, P, p.bias != nullptr ? p.bias + grp * p.Cog : nullptr, p.vec);
}

// ---- backward data -----------------------------------------------------------------------

// One axis of one residue class q: the image positions i with (i + pad) mod s == q are
// first + j*s (count of them); the kernel taps that reach them are tap_first + t*tap_step
// (taps of them), those with tap*d == q (mod s); and position j with tap t reads output
// out_base + j - t*out_step, an exact division done once here.
struct AxisClass {
  int first, count, tap_first, tap_step, taps, out_base, out_step;
};

__device__ AxisClass axis_class(int q, int size, int ksize, int s, int pad, int d) {
  AxisClass c;
  c.first = ((q - pad) % s + s) % s;
  c.count = c.first < size ? (size - c.first + s - 1) / s : 0;
  int a = s, b = d;  // gcd(s, d): the taps of one class repeat every s / gcd
  while (b != 0) {
    const int t = a % b;
    a = b;
    b = t;
  }
  c.tap_step = s / a;
  c.tap_first = ksize;
  for (int t = 0; t < min(ksize, s); ++t)
    if ((t * d) % s == q) {
      c.tap_first = t;
      break;
    }
  c.taps = c.tap_first < ksize ? (ksize - 1 - c.tap_first) / c.tap_step + 1 : 0;
  c.out_base = c.taps > 0 ? (c.first + pad - c.tap_first * d) / s : 0;
  c.out_step = c.tap_step * d / s;
  return c;
}

struct DgradParams {
  DeviceConvProblem g;
  const float* dy;
  const float* w;
  const float* bias;
  float* dx;
  int Cig, Cog;
  bool vec;
};

// A (dy gathered for the class's pixels) pixel-fast, B (weight taps of the class) depth-fast,
// as in the forward loader; k = (c_out, tap_h, tap_w) over the class's taps only.
template <class C>
struct DgradLoader {
  static constexpr int KSTEP = C::kThreads / C::BM, NSTEP = C::kThreads / BK;
  const DgradParams& p;
  const AxisClass &ch, &cw;
  FastDiv div_taps, div_tw;
  const float* w_g;
  int K, taps, mm, kk0, kb, nb0, n0, dy_base = 0, oh0 = 0, ow0 = 0;
  bool m_ok;
  float ra[C::A_PER], rb[C::B_PER];

  __device__ __forceinline__ DgradLoader(const DgradParams& prm, const AxisClass& ch_, const AxisClass& cw_, int grp, int m0, int M,
                         int n0_)
      : p(prm), ch(ch_), cw(cw_), n0(n0_) {
    const DeviceConvProblem& g = p.g;
    const int tid = threadIdx.x;
    taps = ch.taps * cw.taps;
    K = p.Cog * taps;
    div_taps = FastDiv(uint32_t(max(taps, 1)));
    div_tw = FastDiv(uint32_t(max(cw.taps, 1)));
    mm = tid % C::BM;
    kk0 = tid / C::BM;
    kb = tid % BK;
    nb0 = tid / BK;
    w_g = p.w + grp * p.Cog * p.Cig * g.kH * g.kW;
    const int m = m0 + mm;
    m_ok = m < M;
    if (m_ok) {
      const int plane = ch.count * cw.count;
      const int b = m / plane, rem = m - b * plane;
      const int jh = rem / cw.count, jw = rem - jh * cw.count;
      dy_base = (b * g.col_channels + grp * p.Cog) * g.Ho * g.Wo;
      oh0 = ch.out_base + jh;
      ow0 = cw.out_base + jw;
    }
  }
  __device__ __forceinline__ void load(int t) {
    const DeviceConvProblem& g = p.g;
    const int k0 = t * BK;
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) {
      const int k = k0 + kk0 + i * KSTEP;
      float v = 0.0f;
      if (m_ok && k < K) {
        const int co = div_taps.div(k), r = k - co * taps;
        const int th = div_tw.div(r), tw = r - th * cw.taps;
        const int oh = oh0 - th * ch.out_step, ow = ow0 - tw * cw.out_step;
        if (unsigned(oh) < unsigned(g.Ho) && unsigned(ow) < unsigned(g.Wo))
          v = __ldg(p.dy + dy_base + (co * g.Ho + oh) * g.Wo + ow);
      }
      ra[i] = v;
    }
    const int k = k0 + kb;
    int w_off = 0;
    if (k < K) {
      const int co = div_taps.div(k), r = k - co * taps;
      const int th = div_tw.div(r), tw = r - th * cw.taps;
      const int kh = ch.tap_first + th * ch.tap_step, kw = cw.tap_first + tw * cw.tap_step;
      w_off = co * p.Cig * g.kH * g.kW + kh * g.kW + kw;
    }
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) {
      const int n = n0 + nb0 + i * NSTEP;
      rb[i] = (n < p.Cig && k < K) ? __ldg(w_g + w_off + n * g.kH * g.kW) : 0.0f;
    }
  }
  __device__ __forceinline__ void store(Smem<C>& sm, int buf) const {
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) sm.a[buf][kk0 + i * KSTEP][mm] = ra[i];
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) sm.b[buf][kb][nb0 + i * NSTEP] = rb[i];
  }
};

// blockIdx.z = class * groups + group. Blocks past the class's pixel count leave at once.
// A class whose pixels no tap reaches (K = 0) still writes its zeros (and bias).
template <class C>
__global__ void __launch_bounds__(C::kThreads) conv_dgrad_kernel(const __grid_constant__ DgradParams p) {
  __shared__ __align__(16) Smem<C> sm;
  const DeviceConvProblem& g = p.g;
  const int cls = blockIdx.z / g.groups, grp = blockIdx.z - cls * g.groups;
  const AxisClass ch = axis_class(cls / g.stride_w, g.H, g.kH, g.stride_h, g.pad_h, g.dil_h);
  const AxisClass cw = axis_class(cls % g.stride_w, g.W, g.kW, g.stride_w, g.pad_w, g.dil_w);
  const int plane = ch.count * cw.count, M = g.N * plane;
  const int m0 = blockIdx.x * C::BM, n0 = blockIdx.y * C::BN;
  if (m0 >= M) return;
  DgradLoader<C> ld(p, ch, cw, grp, m0, M, n0);
  float acc[8][C::TN] = {};
  gemm_mainloop<C>(ld, (ld.K + BK - 1) / BK, sm, acc);

  const int ty = threadIdx.x / (C::BN / C::TN);
  int row_off[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + tile_row<C>(ty, i);
    row_off[i] = -1;
    if (m < M) {
      const int b = m / plane, rem = m - b * plane;
      const int jh = rem / cw.count, jw = rem - jh * cw.count;
      const int ih = ch.first + jh * g.stride_h, iw = cw.first + jw * g.stride_w;
      row_off[i] = ((b * g.img_channels + grp * p.Cig) * g.H + ih) * g.W + iw;
    }
  }
  store_tile<C, false>(p.dx, acc, row_off, n0, p.Cig, g.H * g.W, p.bias != nullptr ? p.bias + grp * p.Cig : nullptr,
                       p.vec);
}

// ---- backward weight ---------------------------------------------------------------------

struct WgradParams {
  DeviceConvProblem g;
  const float* x;
  const float* dy;
  float* out;           // dw, or the workspace of per-split partials
  int K, Cig, Cog, R, chunk, split_stride;  // split_stride: 0 when all splits share `out`
  FastDiv div_P, div_Wo, div_kHW, div_kW;
  bool vec;
};

// Both operands are loaded reduction-fast (8 consecutive output positions per row of the
// tile, one 32-byte sector): the thread's reduction slot kk is fixed, and its output position
// (n_img, oh, ow) is decoded once per stage for all its loads. A rows are im2col columns
// (c_in, kh, kw), whose offsets the thread computes once before the loop.
template <class C>
struct WgradLoader {
  static constexpr int STEP = C::kThreads / BK;
  const WgradParams& p;
  int kk, r_begin, r_end, xg_base, dyg_base;
  int off[C::A_PER], khd[C::A_PER], kwd[C::A_PER], ncol[C::B_PER];
  float ra[C::A_PER], rb[C::B_PER];

  __device__ __forceinline__ WgradLoader(const WgradParams& prm, int grp, int m0, int n0, int rb_, int re_)
      : p(prm), r_begin(rb_), r_end(re_) {
    const DeviceConvProblem& g = p.g;
    const int tid = threadIdx.x, kHW = g.kH * g.kW;
    kk = tid % BK;
    xg_base = grp * p.Cig * g.H * g.W;
    dyg_base = grp * p.Cog;
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) {
      const int k = m0 + tid / BK + i * STEP;
      off[i] = 0, khd[i] = kFar, kwd[i] = kFar;
      if (k < p.K) {
        const int ci = p.div_kHW.div(k), r = k - ci * kHW;
        const int kh = p.div_kW.div(r), kw = r - kh * g.kW;
        khd[i] = kh * g.dil_h;
        kwd[i] = kw * g.dil_w;
        off[i] = ci * g.H * g.W + khd[i] * g.W + kwd[i];
      }
    }
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) {
      const int n = n0 + tid / BK + i * STEP;
      ncol[i] = n < p.Cog ? n : -1;
    }
  }
  __device__ __forceinline__ void load(int t) {
    const DeviceConvProblem& g = p.g;
    const int r_raw = r_begin + t * BK + kk;
    const bool r_ok = r_raw < r_end;
    const int r = r_ok ? r_raw : 0;  // past the split: decode position 0, load nothing
    const int P = g.Ho * g.Wo;
    const int b = p.div_P.div(r), pix = r - b * P;
    const int oh = p.div_Wo.div(pix), ow = pix - oh * g.Wo;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
    const float* xb = p.x + b * g.img_channels * g.H * g.W + xg_base + ih0 * g.W + iw0;
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) {
      const int ih = ih0 + khd[i], iw = iw0 + kwd[i];
      ra[i] = (r_ok && unsigned(ih) < unsigned(g.H) && unsigned(iw) < unsigned(g.W)) ? __ldg(xb + off[i]) : 0.0f;
    }
    const float* dyb = p.dy + (b * g.col_channels + dyg_base) * P + pix;
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) rb[i] = (r_ok && ncol[i] >= 0) ? __ldg(dyb + ncol[i] * P) : 0.0f;
  }
  __device__ __forceinline__ void store(Smem<C>& sm, int buf) const {
    const int row = threadIdx.x / BK;
#pragma unroll
    for (int i = 0; i < C::A_PER; ++i) sm.a[buf][kk][row + i * STEP] = ra[i];
#pragma unroll
    for (int i = 0; i < C::B_PER; ++i) sm.b[buf][kk][row + i * STEP] = rb[i];
  }
};

// blockIdx.x: tile of im2col columns, blockIdx.y: group * n-tiles + n-tile, blockIdx.z: split.
template <class C, bool Atomic>
__global__ void __launch_bounds__(C::kThreads) conv_wgrad_kernel(const __grid_constant__ WgradParams p) {
  __shared__ __align__(16) Smem<C> sm;
  const int ntn = (p.Cog + C::BN - 1) / C::BN;
  const int grp = blockIdx.y / ntn, n0 = (blockIdx.y - grp * ntn) * C::BN, m0 = blockIdx.x * C::BM;
  const int r_begin = blockIdx.z * p.chunk, r_end = min(p.R, r_begin + p.chunk);
  WgradLoader<C> ld(p, grp, m0, n0, r_begin, r_end);
  float acc[8][C::TN] = {};
  gemm_mainloop<C>(ld, (r_end - r_begin + BK - 1) / BK, sm, acc);

  const int ty = threadIdx.x / (C::BN / C::TN);
  int row_off[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int k = m0 + tile_row<C>(ty, i);
    row_off[i] = k < p.K ? grp * p.Cog * p.K + k : -1;
  }
  store_tile<C, Atomic>(p.out + blockIdx.z * p.split_stride, acc, row_off, n0, p.Cog, p.K, nullptr, p.vec);
}

// ---- small kernels -----------------------------------------------------------------------

__global__ void bias_grad_kernel(const float* __restrict__ dy, int N, int C, int plane, float* __restrict__ db) {
  __shared__ float scratch[32];
  const int c = blockIdx.x;
  float s = 0.0f;
  for (int b = 0; b < N; ++b) {
    const float* row = dy + (b * C + c) * plane;
    for (int i = threadIdx.x; i < plane; i += blockDim.x) s += row[i];
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) db[c] = s;
}

__global__ void sum_splits_kernel(const float* __restrict__ parts, int splits, int size, float* __restrict__ out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < size; i += gridDim.x * blockDim.x) {
    float s = 0.0f;
    for (int z = 0; z < splits; ++z) s += parts[z * size + i];
    out[i] = s;
  }
}

// ---- host side ---------------------------------------------------------------------------

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

// The tile for a GEMM with n_dim columns and m_dim rows in `batches` independent problems:
// narrow N gets narrow tiles; otherwise 128-row tiles unless that leaves fewer than two
// blocks per multiprocessor, where 64-row tiles double the parallelism.
TileKind pick_tile(const ExecContext& ctx, int n_dim, int64_t m_dim, int64_t batches) {
  if (n_dim <= 16) return TileKind::XS;
  if (n_dim <= 32) return TileKind::S;
  const int64_t blocks = ceil_div(m_dim, TileL::BM) * ceil_div(n_dim, TileL::BN) * batches;
  return blocks >= 2 * int64_t(std::max(ctx.sm_count, 1)) ? TileKind::L : TileKind::M;
}

int tile_bm(TileKind t) { return t == TileKind::M ? TileM::BM : 128; }
int tile_bn(TileKind t) {
  switch (t) {
    case TileKind::XS: return TileXS::BN;
    case TileKind::S: return TileS::BN;
    default: return 64;
  }
}

// Runs f(Tile{}) with the tile type of `t`.
template <class F>
void with_tile(TileKind t, F&& f) {
  switch (t) {
    case TileKind::L: f(TileL{}); break;
    case TileKind::M: f(TileM{}); break;
    case TileKind::S: f(TileS{}); break;
    case TileKind::XS: f(TileXS{}); break;
  }
}

void check_grid(int64_t x, int64_t y, int64_t z, const char* op) {
  SDKD_CHECK(x < (int64_t(1) << 31) && y <= 65535 && z <= 65535, op, ": launch grid ", x, "x", y, "x", z,
             " exceeds the CUDA limits (too many groups or channels for one launch)");
}

// How the weight-gradient reduction over R = N*Ho*Wo is split: enough blocks for about four
// per multiprocessor, each split at least 256 positions long, splits * size < 2^31.
struct WgradPlan {
  TileKind tile;
  int splits, chunk;
};

WgradPlan plan_wgrad(const ExecContext& ctx, const DeviceConvProblem& g) {
  const int Cog = g.col_group();
  const int64_t K = int64_t(g.img_group()) * g.kH * g.kW, R = int64_t(g.N) * g.Ho * g.Wo;
  const int64_t size = int64_t(g.col_channels) * K;
  WgradPlan plan{pick_tile(ctx, Cog, K, g.groups), 1, int(R)};
  if (R == 0) return plan;
  const int64_t tiles = ceil_div(K, tile_bm(plan.tile)) * ceil_div(Cog, tile_bn(plan.tile)) * g.groups;
  int64_t splits = ceil_div(4 * int64_t(std::max(ctx.sm_count, 1)), tiles);
  splits = std::min({splits, std::max<int64_t>(1, R / 256), int64_t(65535), std::max<int64_t>(1, INT_MAX / size)});
  splits = std::max<int64_t>(splits, 1);
  const int64_t chunk = ceil_div(ceil_div(R, splits), BK) * BK;
  plan.chunk = int(chunk);
  plan.splits = int(ceil_div(R, chunk));
  return plan;
}

bool uses_depthwise(const DeviceConvProblem& g) {
  // The backward-data kernel keeps col_group() * kH * kW weights in shared memory.
  return g.img_group() == 1 && int64_t(g.col_group()) * g.kH * g.kW <= 4096;
}

}  // namespace

void conv_sum_splits(const ExecContext& ctx, const float* parts, int splits, int size, float* out) {
  if (size <= 0) return;
  sum_splits_kernel<<<grid_for(size), kThreads, 0, stream_of(ctx)>>>(parts, splits, size, out);
  SDKD_CUDA_LAUNCH_CHECK();
}

void conv2d_forward(const ExecContext& ctx, const ConvProblem& problem, const float* img, const float* w,
                    const float* col_bias, float* col) {
  const DeviceConvProblem g = problem.narrow<int>();
  if (g.N == 0) return;
  if (uses_depthwise(g)) return depthwise_forward(ctx, g, img, w, col_bias, col);
  FwdParams p{};
  p.g = g;
  p.x = img, p.w = w, p.bias = col_bias, p.y = col;
  p.Cig = g.img_group();
  p.Cog = g.col_group();
  p.K = p.Cig * g.kH * g.kW;
  const int P = g.Ho * g.Wo;
  p.M = g.N * P;
  p.div_P = FastDiv(uint32_t(P));
  p.div_Wo = FastDiv(uint32_t(g.Wo));
  p.div_kHW = FastDiv(uint32_t(g.kH * g.kW));
  p.div_kW = FastDiv(uint32_t(g.kW));
  p.vec = P % 4 == 0 && aligned16(col);
  with_tile(pick_tile(ctx, p.Cog, p.M, g.groups), [&](auto tile) {
    using C = decltype(tile);
    const dim3 grid(unsigned(ceil_div(p.M, C::BM)), unsigned(ceil_div(p.Cog, C::BN)), unsigned(g.groups));
    check_grid(grid.x, grid.y, grid.z, "conv2d forward");
    conv_fwd_kernel<C><<<grid, C::kThreads, 0, stream_of(ctx)>>>(p);
    SDKD_CUDA_LAUNCH_CHECK();
  });
}

void conv2d_backward_data(const ExecContext& ctx, const ConvProblem& problem, const float* col, const float* w,
                          const float* img_bias, float* img) {
  const DeviceConvProblem g = problem.narrow<int>();
  if (g.N == 0) return;
  if (uses_depthwise(g)) return depthwise_backward_data(ctx, g, col, w, img_bias, img);
  DgradParams p{};
  p.g = g;
  p.dy = col, p.w = w, p.bias = img_bias, p.dx = img;
  p.Cig = g.img_group();
  p.Cog = g.col_group();
  // With stride 1 the only class is the whole image in row-major order, so four consecutive
  // rows of a tile are four consecutive pixels of one image when H*W is a multiple of four.
  p.vec = g.stride_h == 1 && g.stride_w == 1 && (g.H * g.W) % 4 == 0 && aligned16(img);
  const int64_t classes = int64_t(g.stride_h) * g.stride_w;
  const int64_t M_max = int64_t(g.N) * ceil_div(g.H, g.stride_h) * ceil_div(g.W, g.stride_w);
  with_tile(pick_tile(ctx, p.Cig, M_max, g.groups * classes), [&](auto tile) {
    using C = decltype(tile);
    const dim3 grid(unsigned(ceil_div(M_max, C::BM)), unsigned(ceil_div(p.Cig, C::BN)),
                    unsigned(classes * g.groups));
    check_grid(ceil_div(M_max, C::BM), grid.y, classes * g.groups, "conv2d backward-data");
    conv_dgrad_kernel<C><<<grid, C::kThreads, 0, stream_of(ctx)>>>(p);
    SDKD_CUDA_LAUNCH_CHECK();
  });
}

void conv2d_backward_weight(const ExecContext& ctx, const ConvProblem& problem, const float* img, const float* col,
                            float* dw) {
  const DeviceConvProblem g = problem.narrow<int>();
  const int64_t size = problem.weight_numel();
  if (g.N == 0) {
    SDKD_CUDA_CHECK(cudaMemsetAsync(dw, 0, size_t(size) * sizeof(float), stream_of(ctx)));
    return;
  }
  if (uses_depthwise(g)) return depthwise_backward_weight(ctx, g, img, col, dw);
  const WgradPlan plan = plan_wgrad(ctx, g);
  WgradParams p{};
  p.g = g;
  p.x = img, p.dy = col;
  p.Cig = g.img_group();
  p.Cog = g.col_group();
  p.K = p.Cig * g.kH * g.kW;
  p.R = g.N * g.Ho * g.Wo;
  p.chunk = plan.chunk;
  p.div_P = FastDiv(uint32_t(g.Ho * g.Wo));
  p.div_Wo = FastDiv(uint32_t(g.Wo));
  p.div_kHW = FastDiv(uint32_t(g.kH * g.kW));
  p.div_kW = FastDiv(uint32_t(g.kW));
  const bool partials = ctx.deterministic && plan.splits > 1;
  const bool atomic = !ctx.deterministic && plan.splits > 1;
  // Deterministic mode: per-split partial sums in launch-local scratch, added in split order.
  const Workspace parts(ctx, partials ? size_t(plan.splits) * size_t(size) * sizeof(float) : 0);
  if (partials) {
    p.out = parts.as<float>();
    p.split_stride = int(size);
  } else {
    p.out = dw;
    p.split_stride = 0;
    if (atomic) SDKD_CUDA_CHECK(cudaMemsetAsync(dw, 0, size_t(size) * sizeof(float), stream_of(ctx)));
  }
  p.vec = !atomic && p.K % 4 == 0 && aligned16(p.out);
  with_tile(plan.tile, [&](auto tile) {
    using C = decltype(tile);
    const dim3 grid(unsigned(ceil_div(p.K, C::BM)), unsigned(ceil_div(p.Cog, C::BN) * g.groups), unsigned(plan.splits));
    check_grid(grid.x, ceil_div(p.Cog, C::BN) * g.groups, plan.splits, "conv2d backward-weight");
    if (atomic) conv_wgrad_kernel<C, true><<<grid, C::kThreads, 0, stream_of(ctx)>>>(p);
    else conv_wgrad_kernel<C, false><<<grid, C::kThreads, 0, stream_of(ctx)>>>(p);
    SDKD_CUDA_LAUNCH_CHECK();
  });
  if (partials) conv_sum_splits(ctx, parts.as<float>(), plan.splits, int(size), dw);
}

void conv_bias_backward(const ExecContext& ctx, const float* dy, int N, int C, int plane, float* db) {
  if (C <= 0) return;
  bias_grad_kernel<<<unsigned(C), kThreads, 0, stream_of(ctx)>>>(dy, N, C, plane, db);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
