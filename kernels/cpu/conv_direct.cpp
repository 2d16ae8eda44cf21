// The direct convolution loops over the plans of conv_direct_plan.cpp. One task is one
// (image, group): fill the padded source (a band of rows of it at a time where the plan is
// banded), then run every pass and channel block on it. Outputs are computed in register
// tiles of CB channels x NV vectors; a backward-data pass of a strided problem computes its
// residue class densely, the two column classes of stride 2 together in one tile written
// straight to the output, other classes into a scratch grid that is then scattered.
#include "kernels/cpu/conv_direct.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cpu/conv_direct_plan.hpp"
#include "kernels/cpu/conv_simd.hpp"
#include "kernels/cpu/thread_scratch.hpp"
#include "kernels/cpu/parallel_policy.hpp"

namespace sdkd::cpu {
namespace {

using kern::ConvProblem;
using simd::Prefetch;
using simd::Vec;

template <class T>
constexpr int64_t kL = simd::kLanes<T>;

int64_t vectors(int64_t n, int64_t lanes) { return (n + lanes - 1) / lanes; }

struct ResidueGrid;         // a strided backward-data pass's dense grid
struct WeightAccumulators;  // the weight gradient's lane-wise sums
struct WeightPartials;      // its per-task sums in double
struct WeightSums;          // and their total over the chunks

bool run_parallel(const ConvProblem& p) {
  const int64_t macs = p.N * p.col_channels * p.col_plane() * p.k_group();
  return macs >= (int64_t(1) << 17) && threads_pay_flops(2.0 * double(macs));
}

// Output channels per register tile: CB accumulators per vector, NV vectors.
constexpr int kMaxChannels = simd::kRegisters == 32 ? 8 : 4;
template <int CB>
constexpr int tile_vectors() {
  return std::clamp(simd::kAccumulators / CB, 1, 8);
}

// Splits [0, n) into register-tile channel blocks: kMaxChannels wide, then powers of two.
struct Block {
  int64_t c0, cb;
};
std::vector<Block> channel_blocks(int64_t n, int64_t widest) {
  std::vector<Block> out;
  for (int64_t c0 = 0; c0 < n;) {
    int64_t cb = widest;
    while (cb > n - c0) cb /= 2;
    out.push_back({c0, cb});
    c0 += cb;
  }
  return out;
}

// ---- forward-style passes: outputs accumulated over taps -----------------------------------

// out[c][oh][ow] = bias[c] + sum_t wp[t][c] * buf[oh * row_elems + ow + offs[t]] for the grid
// of the pass; out has row pitch ld and channel pitch cpitch.
template <class T, int CB>
void accumulate_block(const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs,
                      int64_t ntaps, const T* wp, const T* bias, T* out, int64_t ld, int64_t cpitch, Prefetch& pf) {
  constexpr int NV = tile_vectors<CB>();
  constexpr int64_t L = kL<T>;
  const int64_t vpr = vectors(out_W, L), slots = out_H * vpr;
  int64_t row = 0, col = 0;  // grid position of slot s0
  for (int64_t s0 = 0; s0 < slots; s0 += NV) {
    // Positions of the tile's vectors; past the grid's end they repeat its last vector (computed
    // twice, stored once) rather than read past the buffer.
    int64_t rr[NV], cc[NV];
    for (int v = 0; v < NV; ++v) {
      rr[v] = row, cc[v] = col;
      if (s0 + v + 1 < slots && ++col == vpr) col = 0, ++row;
    }
    const T* base[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) base[v] = buf + rr[v] * row_elems + cc[v] * L;
    Vec<T> acc[CB][NV];
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
      const Vec<T> init = bias != nullptr ? simd::splat(bias[c]) : Vec<T>{};
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[c][v] = init;
    }
    for (int64_t t = 0; t < ntaps; ++t) {
      pf.step();
      const int64_t o = offs[t];
      Vec<T> x[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) x[v] = simd::load(base[v] + o);
      const T* wt = wp + t * CB;
#pragma GCC unroll 8
      for (int c = 0; c < CB; ++c) {
        const T wc = wt[c];  // scalar times vector: one broadcast, no extra arithmetic
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[c][v] += wc * x[v];
      }
    }
    for (int v = 0; v < NV && s0 + v < slots; ++v) {
      const int64_t ow = cc[v] * L, n = std::min(L, out_W - ow);
      for (int c = 0; c < CB; ++c) {
        T* d = out + c * cpitch + rr[v] * ld + ow;
        if (n == L)
          simd::store<T>(d, acc[c][v]);
        else
          simd::store_first<T>(d, acc[c][v], n);
      }
    }
  }
}

// Channel blocks are kMaxChannels wide or a smaller power of two (channel_blocks).
template <class T>
void accumulate_any(int64_t cb, const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs,
                    int64_t ntaps, const T* wp, const T* bias, T* out, int64_t ld, int64_t cpitch, Prefetch& pf) {
  if constexpr (kMaxChannels >= 8)
    if (cb == 8)
      return accumulate_block<T, 8>(buf, row_elems, out_H, out_W, offs, ntaps, wp, bias, out, ld, cpitch, pf);
  if (cb == 4) return accumulate_block<T, 4>(buf, row_elems, out_H, out_W, offs, ntaps, wp, bias, out, ld, cpitch, pf);
  if (cb == 2) return accumulate_block<T, 2>(buf, row_elems, out_H, out_W, offs, ntaps, wp, bias, out, ld, cpitch, pf);
  accumulate_block<T, 1>(buf, row_elems, out_H, out_W, offs, ntaps, wp, bias, out, ld, cpitch, pf);
}

// accumulate_block's Prefetch steps (one per tap of each register tile) for a pass of `slots`
// output vectors in channel blocks of cb.
int64_t accumulate_steps(int64_t cb, int64_t slots, int64_t taps) {
  int nv = tile_vectors<1>();
  if (cb >= 8) nv = tile_vectors<8>();
  else if (cb >= 4) nv = tile_vectors<4>();
  else if (cb >= 2) nv = tile_vectors<2>();
  return (slots + nv - 1) / nv * taps;
}

// ---- stride-2 column pairs: two residue classes written interleaved --------------------------

// The even and odd lanes of a pair of vectors: lanes [0, L) of (e0, o0, e1, o1, ...) and [L, 2L).
template <class T, int... J>
[[gnu::always_inline]] inline void interleave(Vec<T> e, Vec<T> o, Vec<T>& lo, Vec<T>& hi,
                                              std::integer_sequence<int, J...>) {
  constexpr int L = int(kL<T>);
  lo = __builtin_shufflevector(e, o, ((J % 2) * L + J / 2)...);
  hi = __builtin_shufflevector(e, o, ((J % 2) * L + (J + L) / 2)...);
}

// acc[c][v] += the nt taps (offsets offs, tap t's channel c weight at w[t * wstride + c]) of
// the tile's NP vectors at base[v]: one column class of accumulate_pair.
template <class T, int CB, int NP>
[[gnu::always_inline]] inline void pair_taps(Vec<T> (&acc)[CB][NP], const T* const (&base)[NP], const int64_t* offs,
                                             int64_t nt, const T* w, int64_t wstride, Prefetch& pf) {
  for (int64_t t = 0; t < nt; ++t) {
    pf.step();
    Vec<T> x[NP];
#pragma GCC unroll 4
    for (int v = 0; v < NP; ++v) x[v] = simd::load(base[v] + offs[t]);
    const T* wt = w + t * wstride;
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
      const T wc = wt[c];
#pragma GCC unroll 4
      for (int v = 0; v < NP; ++v) acc[c][v] += wc * x[v];
    }
  }
}

// A backward-data row class of stride 2 along the width computes its two column classes
// (output columns 2j and 2j + 1) over the same grid: here both in one register tile of CB
// channels x NP vector pairs, interleaved in registers and stored as whole output vectors. Each
// output adds its own class's taps in the plan's order, so the bits are accumulate_block's;
// what goes is the scratch grid and the scatter that interleaved the classes afterwards (a
// quarter of U-Net down1's data gradient). Weights: tap t's channel c at w[t * wstride + c].
template <class T, int CB>
void accumulate_pair(const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs_e,
                     int64_t nte, const T* we, const int64_t* offs_o, int64_t nto, const T* wo, int64_t wstride,
                     const T* bias, T* out, int64_t ld, int64_t cpitch, Prefetch& pf) {
  constexpr int NP = std::clamp(simd::kAccumulators / (2 * CB), 1, 4);
  constexpr int64_t L = kL<T>;
  const int64_t vpr = vectors(out_W, L), slots = out_H * vpr;
  int64_t row = 0, col = 0;
  for (int64_t s0 = 0; s0 < slots; s0 += NP) {
    int64_t rr[NP], cc[NP];
    for (int v = 0; v < NP; ++v) {
      rr[v] = row, cc[v] = col;
      if (s0 + v + 1 < slots && ++col == vpr) col = 0, ++row;
    }
    const T* base[NP];
#pragma GCC unroll 4
    for (int v = 0; v < NP; ++v) base[v] = buf + rr[v] * row_elems + cc[v] * L;
    Vec<T> ae[CB][NP], ao[CB][NP];
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
      const Vec<T> init = bias != nullptr ? simd::splat(bias[c]) : Vec<T>{};
#pragma GCC unroll 4
      for (int v = 0; v < NP; ++v) ae[c][v] = init, ao[c][v] = init;
    }
    pair_taps<T, CB, NP>(ae, base, offs_e, nte, we, wstride, pf);
    pair_taps<T, CB, NP>(ao, base, offs_o, nto, wo, wstride, pf);
    for (int v = 0; v < NP && s0 + v < slots; ++v) {
      const int64_t n = 2 * std::min(L, out_W - cc[v] * L);  // output elements of this pair
      for (int c = 0; c < CB; ++c) {
        Vec<T> lo, hi;
        interleave<T>(ae[c][v], ao[c][v], lo, hi, std::make_integer_sequence<int, int(L)>{});
        T* d = out + c * cpitch + rr[v] * ld + 2 * cc[v] * L;
        if (n == 2 * L) {
          simd::store<T>(d, lo);
          simd::store<T>(d + L, hi);
        } else if (n > L) {
          simd::store<T>(d, lo);
          simd::store_first<T>(d + L, hi, n - L);
        } else {
          simd::store_first<T>(d, lo, n);
        }
      }
    }
  }
}

// ---- one output channel: a tile of output rows ---------------------------------------------

// With one output channel (the data gradient of a 1-channel-input conv), accumulate_block
// spends one load per multiply-add: nothing shares a loaded vector. When each source channel's
// taps form a KH x KW grid of unit row steps, a tile of NV output rows at one column vector
// instead loads each (source row, kernel column) once and feeds it to the KH outputs whose taps
// read it: (NV + KH - 1) * KW loads for NV * KH * KW multiply-adds. Each output still adds
// its taps in the plan's order (channel, kernel row, kernel column), so the bits are those of
// accumulate_block.
constexpr int kRowTile = 8;  // output rows per tile (12 and 16 measured slower: spills)

struct RowGrid {
  int kh = 0, kw = 0;             // 0: the taps are not such a grid
  int64_t row_dir = 1;            // +1: kernel row a reads source row +a (forward); -1: -a
  std::vector<int64_t> channel;   // per source channel: the offset of its tap (0, 0)
  std::vector<int64_t> column;    // per kernel column b: the offset of tap (0, b) from tap (0, 0)
};

// The grid of `offs` (a plan pass's taps: source channels of cp elements, rows of rp), if its
// taps are listed channel by channel, kernel row by kernel row, with unit row steps.
RowGrid row_grid(const std::vector<int64_t>& offs, int64_t channels, int64_t cp, int64_t rp) {
  RowGrid g;
  const int64_t n = int64_t(offs.size());
  if (channels <= 0 || n % channels != 0 || n == channels) return g;
  const int64_t per = n / channels;
  const auto row = [&](int64_t t) { return offs[size_t(t)] / rp; };  // rows counted over channels
  int64_t kw = 1;
  while (kw < per && row(kw) == row(0)) ++kw;
  if (per % kw != 0) return g;
  const int64_t kh = per / kw, dir = kh > 1 ? row(kw) - row(0) : 1;
  if (dir != 1 && dir != -1) return g;
  RowGrid out;
  out.kh = int(kh), out.kw = int(kw), out.row_dir = dir;
  for (int64_t b = 0; b < kw; ++b) out.column.push_back(offs[size_t(b)] - offs[0]);
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t base = offs[size_t(c * per)];
    if (base - c * cp != offs[0]) return g;
    out.channel.push_back(base);
    for (int64_t a = 0; a < kh; ++a)
      for (int64_t b = 0; b < kw; ++b)
        if (offs[size_t(c * per + a * kw + b)] != base + a * dir * rp + out.column[size_t(b)]) return g;
  }
  return out;
}

// acc[v] (output row v of the tile) += the taps of every channel; `base` is the tile's row 0 at
// its column vector, w the packed weights of the one output channel (tap order).
template <class T, int NV, int KH, int KW, int DIR>
[[gnu::always_inline]] inline void rows_tile(const T* base, int64_t rp, const RowGrid& g, const T* w, Vec<T> (&acc)[NV],
                                             Prefetch* pf) {
  constexpr int U = NV + KH - 1;
  int64_t col[KW];
#pragma GCC unroll 8
  for (int b = 0; b < KW; ++b) col[b] = g.column[size_t(b)];
  const int64_t channels = int64_t(g.channel.size());
  for (int64_t ch = 0; ch < channels; ++ch, w += KH * KW) {
    if (pf != nullptr) pf->step();
    const T* b0 = base + g.channel[size_t(ch)];
    // Forward: output v's kernel row a is source row v + a, visited in increasing order; the
    // data gradient's plan lists its rows downwards (v - a), so the sweep runs downwards.
#pragma GCC unroll 16
    for (int i = 0; i < U; ++i) {
      const int u = DIR > 0 ? i : NV - 1 - i;  // source row relative to the tile's row 0
#pragma GCC unroll 8
      for (int b = 0; b < KW; ++b) {
        const Vec<T> x = simd::in_register(simd::load(b0 + u * rp + col[b]));
#pragma GCC unroll 8
        for (int a = 0; a < KH; ++a) {
          const int v = DIR > 0 ? u - a : u + a;
          if (v >= 0 && v < NV) acc[v] += w[a * KW + b] * x;
        }
      }
    }
  }
}

// out[oh][ow] = bias + taps, for the out_H x out_W grid (row pitch ld); tiles of NV rows, the
// last one moved up to end at the grid's last row (its overlap computed twice, stored once).
template <class T, int NV, int KH, int KW>
void rows_block(const T* buf, int64_t rp, int64_t out_H, int64_t out_W, const RowGrid& g, const T* w, const T* bias,
                T* out, int64_t ld, Prefetch* pf) {
  constexpr int64_t L = kL<T>;
  const int64_t vpr = vectors(out_W, L);
  for (int64_t cv = 0; cv < vpr; ++cv) {
    const int64_t ow = cv * L, n = std::min(L, out_W - ow);
    for (int64_t r0 = 0; r0 < out_H; r0 += NV) {
      const int64_t r = std::min(r0, out_H - NV);
      Vec<T> acc[NV];
      const Vec<T> init = bias != nullptr ? simd::splat(bias[0]) : Vec<T>{};
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[v] = init;
      // The dense data-gradient grid's source row 0 is output row 0's: the plan's offsets say
      // where each tap's row is, row_dir only orders the sweep.
      if (g.row_dir > 0)
        rows_tile<T, NV, KH, KW, 1>(buf + r * rp + ow, rp, g, w, acc, pf);
      else
        rows_tile<T, NV, KH, KW, -1>(buf + r * rp + ow, rp, g, w, acc, pf);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        T* d = out + (r + v) * ld + ow;
        if (n == L)
          simd::store<T>(d, acc[v]);
        else
          simd::store_first<T>(d, acc[v], n);
      }
    }
  }
}

// rows_block for the grid's shape, or false where no instantiation serves it.
template <class T>
bool rows_any(const T* buf, int64_t rp, int64_t out_H, int64_t out_W, const RowGrid& g, const T* w, const T* bias,
              T* out, int64_t ld, Prefetch* pf = nullptr) {
  constexpr int NV = kRowTile;
  if (out_H < NV) return false;
  if (g.kh == 3 && g.kw == 3) return rows_block<T, NV, 3, 3>(buf, rp, out_H, out_W, g, w, bias, out, ld, pf), true;
  if (g.kh == 5 && g.kw == 5) return rows_block<T, NV, 5, 5>(buf, rp, out_H, out_W, g, w, bias, out, ld, pf), true;
  return false;
}

// The plan with what every task shares: tap offsets per pass, the packed weights, and the
// passes grouped by output row class (a group's passes fill the same output rows).
template <class T>
struct Prepared {
  DirectPlan plan;
  std::vector<Block> blocks;
  std::vector<std::vector<int64_t>> offsets;  // per pass
  std::vector<int64_t> pass_weights;          // start of each pass's weights within a group
  int64_t group_weights = 0;                  // packed weights per group
  std::vector<T> packed;                      // [group][pass][block: tap][channel in block]
  std::vector<std::vector<size_t>> row_groups;
  std::vector<std::vector<int64_t>> grid_starts;  // per row group: prefix sums of its passes' grids
  RowGrid grid;  // one output channel, one pass of unit row step: its taps as a grid, if they are
  int64_t row_tile_steps = 0;  // the grid kernel's Prefetch steps per task
  int64_t tile_steps = 0;      // accumulate_block's per task

  Prepared(DirectPlan pl, int64_t groups, const T* w, int64_t weight_group) : plan(std::move(pl)) {
    const int64_t M = plan.out_channels;
    blocks = channel_blocks(M, kMaxChannels);
    for (size_t pi = 0; pi < plan.passes.size(); ++pi) {
      const DirectPass& ps = plan.passes[pi];
      std::vector<int64_t> o;
      for (const DirectTap& t : ps.taps) o.push_back(t.offset);
      offsets.push_back(std::move(o));
      pass_weights.push_back(group_weights);
      group_weights += M * int64_t(ps.taps.size());
      if (pi == 0 || plan.passes[pi - 1].rho_h != ps.rho_h) row_groups.emplace_back(), grid_starts.push_back({0});
      row_groups.back().push_back(pi);
      grid_starts.back().push_back(grid_starts.back().back() + ps.out_H * ps.out_W);
      for (const Block& b : blocks)
        tile_steps += accumulate_steps(b.cb, ps.out_H * vectors(ps.out_W, kL<T>), int64_t(ps.taps.size()));
    }
    packed.resize(size_t(groups * group_weights));
    for (int64_t g = 0; g < groups; ++g)
      for (size_t pi = 0; pi < plan.passes.size(); ++pi) {
        const std::vector<DirectTap>& taps = plan.passes[pi].taps;
        const int64_t nt = int64_t(taps.size());
        for (const Block& b : blocks) {
          T* dst = packed.data() + g * group_weights + pass_weights[pi] + b.c0 * nt;
          for (int64_t t = 0; t < nt; ++t)
            for (int64_t c = 0; c < b.cb; ++c)
              dst[t * b.cb + c] = w[g * weight_group + (b.c0 + c) * plan.weight_channel_stride + taps[size_t(t)].weight];
        }
      }
    if (M == 1 && plan.passes.size() == 1 && plan.passes[0].row_step == 1) {
      grid = row_grid(offsets[0], plan.src_channels, plan.pad.channel_pitch(), plan.pad.row_pitch());
      // rows_tile steps once per source channel of each tile of kRowTile rows per column vector.
      const DirectPass& ps0 = plan.passes[0];
      row_tile_steps = plan.src_channels * vectors(ps0.out_W, kL<T>) * vectors(ps0.out_H, kRowTile);
    }
  }

  const T* weights(int64_t g, size_t pass, const Block& b) const {
    return packed.data() + g * group_weights + pass_weights[pass] + b.c0 * int64_t(plan.passes[pass].taps.size());
  }
};

// Pass pi for channel block b into dst (row pitch ld, channel pitch cpitch): its first `rows`
// grid rows (fewer than the pass's out_H in the last band of a banded plan).
template <class T>
void compute_pass(const Prepared<T>& pr, const T* buf, int64_t g, size_t pi, const Block& b, const T* bias, T* dst,
                  int64_t ld, int64_t cpitch, int64_t rows, Prefetch* pf = nullptr) {
  const DirectPass& ps = pr.plan.passes[pi];
  if (ps.taps.empty()) {  // a residue class no tap reaches: bias only
    for (int64_t c = 0; c < b.cb; ++c)
      for (int64_t i = 0; i < rows; ++i)
        std::fill(dst + c * cpitch + i * ld, dst + c * cpitch + i * ld + ps.out_W, bias ? bias[c] : T(0));
    return;
  }
  if (pr.grid.kh > 0 &&
      rows_any<T>(buf, pr.plan.pad.row_pitch(), rows, ps.out_W, pr.grid, pr.weights(g, pi, b), bias, dst, ld, pf))
    return;
  Prefetch none;
  accumulate_any<T>(b.cb, buf, ps.row_step * pr.plan.pad.row_pitch(), rows, ps.out_W, pr.offsets[pi].data(),
                    int64_t(ps.taps.size()), pr.weights(g, pi, b), bias, dst, ld, cpitch, pf != nullptr ? *pf : none);
}

// One row group and channel block of one task: `buf` is the filled padded source, `out` the
// group's first output plane, bias the group's (or null). A dense pass writes the output in
// place; residue classes are computed into scratch grids and then written row by row, the two
// column classes of stride 2 interleaved in one loop the compiler vectorises.
// In a banded plan, out is the band's first output row and `rows` its rows; otherwise rows is
// the whole grid's.
template <class T>
void run_unit(const Prepared<T>& pr, const T* buf, int64_t g, size_t ri, const Block& b, const T* bias, T* out,
              int64_t rows, Prefetch* pf = nullptr) {
  const DirectPlan& pl = pr.plan;
  const std::vector<size_t>& group = pr.row_groups[ri];
  const int64_t out_plane = pl.out_H * pl.out_W;
  const T* bb = bias != nullptr ? bias + b.c0 : nullptr;
  const DirectPass& first = pl.passes[group[0]];
  if (first.dense())
    return compute_pass(pr, buf, g, group[0], b, bb, out + b.c0 * out_plane, pl.out_W, out_plane, rows, pf);

  const bool pair = group.size() == 2 && first.step_w == 2 && pl.passes[group[1]].rho_w == 1;
  if (pair && pl.passes[group[1]].out_W == first.out_W) {
    // Both column classes straight into the output rows rho_h + step_h * i, in register tiles of
    // at most 4 channels (3 vector pairs each) taken from the block's packed weights.
    const DirectPass& odd = pl.passes[group[1]];
    const T* we = pr.weights(g, group[0], b);
    const T* wo = pr.weights(g, group[1], b);
    const int64_t nte = int64_t(first.taps.size()), nto = int64_t(odd.taps.size());
    const int64_t row_elems = pl.pad.row_pitch(), ld = first.step_h * pl.out_W;
    Prefetch none;
    Prefetch& fetch = pf != nullptr ? *pf : none;
    for (int64_t c0 = 0; c0 < b.cb;) {
      const int64_t cb = std::min<int64_t>(b.cb - c0, 4);  // blocks are powers of two
      T* o = out + (b.c0 + c0) * out_plane + first.rho_h * pl.out_W;
      const T* bc = bb != nullptr ? bb + c0 : nullptr;
      const int64_t* oe = pr.offsets[group[0]].data();
      const int64_t* oo = pr.offsets[group[1]].data();
      if (cb == 4)
        accumulate_pair<T, 4>(buf, row_elems, first.out_H, first.out_W, oe, nte, we + c0, oo, nto, wo + c0, b.cb, bc, o,
                              ld, out_plane, fetch);
      else if (cb == 2)
        accumulate_pair<T, 2>(buf, row_elems, first.out_H, first.out_W, oe, nte, we + c0, oo, nto, wo + c0, b.cb, bc, o,
                              ld, out_plane, fetch);
      else
        accumulate_pair<T, 1>(buf, row_elems, first.out_H, first.out_W, oe, nte, we + c0, oo, nto, wo + c0, b.cb, bc, o,
                              ld, out_plane, fetch);
      c0 += cb;
    }
    return;
  }
  const std::vector<int64_t>& starts = pr.grid_starts[ri];  // pass q's grids at cb * starts[q]
  T* tmp = thread_scratch<T, ResidueGrid>(b.cb * starts.back());
  auto at = [&](size_t q) { return b.cb * starts[q]; };
  for (size_t q = 0; q < group.size(); ++q) {
    const DirectPass& ps = pl.passes[group[q]];
    compute_pass(pr, buf, g, group[q], b, bb, tmp + at(q), ps.out_W, ps.out_H * ps.out_W, ps.out_H, pf);
  }
  for (int64_t c = 0; c < b.cb; ++c)
    for (int64_t i = 0; i < first.out_H; ++i) {
      T* d = out + (b.c0 + c) * out_plane + (first.rho_h + first.step_h * i) * pl.out_W;
      if (pair) {
        const DirectPass& odd = pl.passes[group[1]];
        const T* s0 = tmp + at(0) + (c * first.out_H + i) * first.out_W;
        const T* s1 = tmp + at(1) + (c * odd.out_H + i) * odd.out_W;
        for (int64_t j = 0; j < odd.out_W; ++j) {
          d[2 * j] = s0[j];
          d[2 * j + 1] = s1[j];
        }
        if (first.out_W > odd.out_W) d[2 * odd.out_W] = s0[odd.out_W];
        continue;
      }
      for (size_t q = 0; q < group.size(); ++q) {
        const DirectPass& ps = pl.passes[group[q]];
        const T* s = tmp + at(q) + (c * ps.out_H + i) * ps.out_W;
        for (int64_t j = 0; j < ps.out_W; ++j) d[ps.rho_w + ps.step_w * j] = s[j];
      }
    }
}

// Runs the plan over every (image, group): src and out are the whole batch's source and output
// tensors with src_channels_all / out_channels_all channels per image.
template <class T>
void run_plan(const ConvProblem& p, const Prepared<T>& pr, const T* src, int64_t src_channels_all, const T* bias,
              T* out, int64_t out_channels_all) {
  const DirectPlan& pl = pr.plan;
  const int64_t src_plane = pl.pad.src_H * pl.pad.src_W, out_plane = pl.out_H * pl.out_W;
  const int64_t tasks = p.N * p.groups;
  const bool parallel = run_parallel(p);
  auto group_src = [&](int64_t task) {
    const int64_t n = task / p.groups, g = task % p.groups;
    return src + (n * src_channels_all + g * pl.src_channels) * src_plane;
  };
  auto group_out = [&](int64_t task) {
    const int64_t n = task / p.groups, g = task % p.groups;
    return out + (n * out_channels_all + g * pl.out_channels) * out_plane;
  };
  auto group_bias = [&](int64_t task) { return bias != nullptr ? bias + (task % p.groups) * pl.out_channels : nullptr; };
  const size_t nb = pr.blocks.size();
  const int64_t bands = pl.bands(), band_rows = pl.band_rows;
  auto rows_of = [&](int64_t band) { return std::min(band_rows, pl.out_H - band * band_rows); };

  if (!parallel || tasks >= omp_get_max_threads()) {
    const int64_t src_bytes = pl.src_channels * src_plane * int64_t(sizeof(T));
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t task = 0; task < tasks; ++task) {
      // Both tile kernels ask for this thread's next source while they compute (Prefetch): the
      // row tiles once per source channel, the register tiles once per tap.
      Prefetch pf;
      if (task + 1 < tasks)
        pf = Prefetch::spread(group_src(task + 1), src_bytes,
                              bands * (pr.grid.kh > 0 ? pr.row_tile_steps : pr.tile_steps));
      for (int64_t band = 0; band < bands; ++band) {
        const T* buf = padded_source(pl.band(band * band_rows), group_src(task), pl.src_channels);
        T* out_band = group_out(task) + band * band_rows * pl.out_W;
        for (size_t ri = 0; ri < pr.row_groups.size(); ++ri)
          for (const Block& b : pr.blocks)
            run_unit(pr, buf, task % p.groups, ri, b, group_bias(task), out_band, rows_of(band), &pf);
      }
    }
    return;
  }
  // Fewer tasks than threads: the threads split bands x row groups x blocks; a thread fills a
  // band's padded source once for its consecutive units of that band.
  const int64_t per_band = int64_t(pr.row_groups.size() * nb), units = bands * per_band;
  for (int64_t task = 0; task < tasks; ++task) {
#pragma omp parallel
    {
      int64_t filled = -1;
      const T* buf = nullptr;
#pragma omp for schedule(static)
      for (int64_t u = 0; u < units; ++u) {
        const int64_t band = u / per_band, rest = u % per_band;
        if (band != filled) buf = padded_source(pl.band(band * band_rows), group_src(task), pl.src_channels);
        filled = band;
        run_unit(pr, buf, task % p.groups, size_t(rest) / nb, pr.blocks[size_t(rest) % nb], group_bias(task),
                 group_out(task) + band * band_rows * pl.out_W, rows_of(band));
      }
    }
  }
}

// ---- backward-weight: per-tap sums of gradient x source ------------------------------------

// Taps per register tile of the weight gradient: CB x TB accumulators.
template <int CB>
constexpr int tile_taps() {
  return std::clamp(simd::kAccumulators / CB, 1, 8);
}
constexpr int kMaxWeightChannels = simd::kRegisters == 32 ? 4 : 2;

// acc[c][t] += lane-wise sums over the grid of grad[c][oh][ow] * buf[oh * row_elems + ow +
// offs[t]] (acc: vectors with row pitch ldacc; first: start from zero instead, so the sums
// need no clearing pass of their own). The lanes stay apart until the very end, so a pass over
// a small plane costs no horizontal reduction.
template <class T, int CB, int TB>
void weight_block(const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs, const T* grad,
                  int64_t cpitch, Vec<T>* accm, int64_t ldacc, bool first) {
  constexpr int64_t L = kL<T>;
  Vec<T> acc[CB][TB];
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) acc[c][t] = first ? Vec<T>{} : accm[c * ldacc + t];
  int64_t o[TB];
#pragma GCC unroll 8
  for (int t = 0; t < TB; ++t) o[t] = offs[t];
  // One flat loop over the full vectors of the grid (a loop per row would make the compiler
  // spill the accumulators between rows), then the rows' partial last vectors.
  const int64_t vfull = out_W / L;
  const T* brow = buf;
  const T* grow = grad;
  for (int64_t s = 0, col = 0, n = out_H * vfull; s < n; ++s) {
    const int64_t ow = col * L;
    Vec<T> gv[CB];
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) gv[c] = simd::load(grow + c * cpitch + ow);
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const Vec<T> x = simd::in_register(simd::load(brow + ow + o[t]));
#pragma GCC unroll 8
      for (int c = 0; c < CB; ++c) acc[c][t] += gv[c] * x;
    }
    if (++col == vfull) col = 0, brow += row_elems, grow += out_W;
  }
  if (vfull * L < out_W) {
    const int64_t full = vfull * L, n = out_W - full;
    for (int64_t oh = 0; oh < out_H; ++oh) {
      const T* b = buf + oh * row_elems + full;
      const T* g = grad + oh * out_W + full;
      Vec<T> gv[CB];
      for (int c = 0; c < CB; ++c) gv[c] = simd::load_first(g + c * cpitch, n);
      for (int t = 0; t < TB; ++t) {
        const Vec<T> x = simd::load_first(b + o[t], n);
        for (int c = 0; c < CB; ++c) acc[c][t] += gv[c] * x;
      }
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) accm[c * ldacc + t] = acc[c][t];
}

// weight_block with a runtime tap count tb <= TB.
template <class T, int CB, int TB>
void weight_block_taps(int64_t tb, const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs,
                       const T* grad, int64_t cpitch, Vec<T>* accm, int64_t ldacc, bool first) {
  if constexpr (TB > 1) {
    if (tb < TB)
      return weight_block_taps<T, CB, TB - 1>(tb, buf, row_elems, out_H, out_W, offs, grad, cpitch, accm, ldacc,
                                              first);
  }
  weight_block<T, CB, TB>(buf, row_elems, out_H, out_W, offs, grad, cpitch, accm, ldacc, first);
}

template <class T, int CB>
void weight_channels(int64_t K, const T* buf, int64_t row_elems, int64_t out_H, int64_t out_W, const int64_t* offs,
                     const T* grad, int64_t cpitch, Vec<T>* accm, bool first, Prefetch& pf) {
  constexpr int TB = tile_taps<CB>();
  for (int64_t t0 = 0; t0 < K; t0 += TB) {
    weight_block_taps<T, CB, TB>(std::min<int64_t>(TB, K - t0), buf, row_elems, out_H, out_W, offs + t0, grad, cpitch,
                                 accm + t0, K, first);
    pf.step();
  }
}

// weight_channels' Prefetch steps for a block of cb channels (one per register tile of taps).
int64_t weight_steps(int64_t cb, int64_t K) {
  const int tb = cb >= 4 ? tile_taps<4>() : cb >= 2 ? tile_taps<2>() : tile_taps<1>();
  return (K + tb - 1) / tb;
}

// The weight gradient's split of the batch: chunks of consecutive images, each summed in its
// own lane-wise accumulators and reduced to double once (one sum_lanes per weight per chunk).
// The count depends on the problem only, never on the thread count, so it fixes the bits.
// At most kWeightTasks chunks per group; on small planes fewer, so that a chunk holds about
// kChunkOutputs outputs per channel: the reduction of every weight costs about as much as the
// products of a 16 x 16 plane (U-Net conv2, 32 -> 32 channels: one image per chunk spent as
// long reducing as multiplying).
constexpr int64_t kWeightTasks = 16;
constexpr int64_t kChunkOutputs = 4096;
int64_t weight_chunks(const ConvProblem& p) {
  const int64_t most = std::clamp<int64_t>((kWeightTasks + p.groups - 1) / p.groups, 1, std::max<int64_t>(p.N, 1));
  return std::clamp<int64_t>(p.N * p.col_plane() / kChunkOutputs, 1, most);
}

// With fewer chunks than threads, tasks also split a chunk's output channels (whole register
// blocks). That sums nothing in a different order, so it may follow the thread count; each
// part copies the chunk's padded sources again, so there are no more parts than needed.
int64_t weight_channel_parts(const ConvProblem& p, int64_t chunks, int64_t blocks) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads(), cg = chunks * p.groups;
  return std::clamp<int64_t>((threads + cg - 1) / cg, 1, std::max<int64_t>(blocks, 1));
}

// Output rows per band of a forward plan (0: the whole plane). A band's padded source rows, of
// every source channel of the group, take about kBandBytes, so they stay in L1 while the
// register tiles of each channel block sweep them, and the copy writes into L1. (Unbanded,
// U-Net down1's stride-2 forward copied a 200 KB padded image per task through L2; banded, the
// pass took 10 % less.) A band of one row would copy most source rows more than once, so a
// plane whose rows are that wide stays whole; of the band heights that fit, the one whose
// output vectors fill the register tiles best (a band of 2 rows of 2 vectors in tiles of 3
// computes 6 vectors for 4: SimVP enc1 forced into such bands took 40 % longer). One output
// channel keeps the whole plane too: its row tiles (rows_block) want 8 rows and stream the
// source once anyway. (The weight gradient stays unbanded: its accumulators, one vector per
// weight, would be stored and reloaded once per band; that doubled the ConvTranspose
// decoder's weight gradient.)
constexpr int64_t kBandBytes = 24 << 10;
template <class T>
int64_t forward_band_rows(const ConvProblem& p) {
  if (p.col_group() == 1) return 0;
  const PaddedLayout whole = plan_forward(p, kL<T>).pad;
  const int64_t row_bytes = p.img_group() * whole.row_pitch() * int64_t(sizeof(T));
  const int64_t fit = kBandBytes / row_bytes, span = (p.kH - 1) * p.dil_h + 1;
  if (fit < span + p.stride_h) return 0;
  const int64_t most = (fit - span) / p.stride_h + 1;
  if (most >= p.Ho) return 0;
  // Tiles of the widest channel block (accumulate_block's NV); the smallest waste, then the
  // tallest band.
  const int64_t widest = channel_blocks(p.col_group(), kMaxChannels).front().cb;
  const int64_t nv = widest >= 8 ? tile_vectors<8>() : widest >= 4 ? tile_vectors<4>() : widest >= 2 ? tile_vectors<2>()
                                                                                                    : tile_vectors<1>();
  const int64_t vpr = vectors(p.Wo, kL<T>);
  int64_t best = most, best_waste = -1;
  for (int64_t rows = most; rows >= std::max<int64_t>(1, most / 2); --rows) {
    const int64_t slots = rows * vpr, waste = (slots + nv - 1) / nv * nv - slots;
    if (best_waste < 0 || waste * best * vpr < best_waste * slots) best = rows, best_waste = waste;
  }
  return best;
}

}  // namespace

template <class T>
void direct_forward(const ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col) {
  if (p.N == 0) return;  // the weights may be null then
  const Prepared<T> pr(plan_forward(p, kL<T>, forward_band_rows<T>(p)), p.groups, w, p.weight_group());
  run_plan(p, pr, img, p.img_channels, col_bias, col, p.col_channels);
}

template <class T>
void direct_backward_data(const ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img) {
  if (p.N == 0) return;
  const Prepared<T> pr(plan_backward_data(p, kL<T>), p.groups, w, p.weight_group());
  run_plan(p, pr, col, p.col_channels, img_bias, img, p.img_channels);
}

// One task per (chunk of images, group): its lane-wise accumulators run over the chunk's
// images in order and are reduced to double once; dw sums the chunks in order. Every bit of
// the result is fixed by the problem, whatever the thread count.
template <class T>
void direct_backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw) {
  const DirectPlan pl = plan_forward(p, kL<T>);
  const int64_t M = p.col_group(), K = p.k_group(), wg = M * K, P = p.col_plane();
  const std::vector<Block> blocks = channel_blocks(M, kMaxWeightChannels);
  const int64_t chunks = weight_chunks(p), nb = int64_t(blocks.size());
  const int64_t parts = weight_channel_parts(p, chunks, nb), tasks = chunks * p.groups * parts;
  const int64_t row_elems = p.stride_h * pl.pad.row_pitch();
  std::vector<int64_t> offs;
  for (const DirectTap& t : pl.passes[0].taps) offs.push_back(t.offset);
  // The caller's thread owns these (the tasks write disjoint parts): held from call to call,
  // since a fresh multi-megabyte vector was fresh pages, zeroed by the kernel, on every call.
  // (chunk, group)'s sums are partial[(chunk * groups + group) * wg, + wg).
  double* partial = thread_scratch<double, WeightPartials>(chunks * p.groups * wg);
#pragma omp parallel for schedule(static) if (run_parallel(p))
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t part = task % parts, cg = task / parts, chunk = cg / p.groups, g = cg % p.groups;
    const int64_t b0 = nb * part / parts, b1 = nb * (part + 1) / parts;  // this task's channel blocks
    Vec<T>* accm = reinterpret_cast<Vec<T>*>(thread_scratch<T, WeightAccumulators>((wg + 1) * kL<T>));
    accm = reinterpret_cast<Vec<T>*>((reinterpret_cast<uintptr_t>(accm) + sizeof(Vec<T>) - 1) &
                                     ~uintptr_t(sizeof(Vec<T>) - 1));  // vector-aligned
    const int64_t n0 = p.N * chunk / chunks, n1 = p.N * (chunk + 1) / chunks;
    const int64_t w0 = b0 < nb ? blocks[size_t(b0)].c0 * K : wg, w1 = b1 < nb ? blocks[size_t(b1)].c0 * K : wg;
    if (n0 == n1) std::fill(accm + w0, accm + w1, Vec<T>{});  // no image (N = 0): the sums stay zero
    int64_t steps = 0;  // Prefetch steps per image
    for (int64_t bi = b0; bi < b1; ++bi) steps += weight_steps(blocks[size_t(bi)].cb, K);
    const auto source = [&](int64_t n) { return img + (n * p.img_channels + g * pl.src_channels) * p.img_plane(); };
    for (int64_t n = n0; n < n1; ++n) {
      const bool first = n == n0;
      const T* buf = padded_source(pl.pad, source(n), pl.src_channels);
      // The next image's source is fetched while this one's taps are summed (its copy into the
      // padded buffer stalled on it: a quarter of U-Net down1's weight gradient).
      Prefetch pf;
      if (n + 1 < n1) pf = Prefetch::spread(source(n + 1), pl.src_channels * p.img_plane() * int64_t(sizeof(T)), steps);
      const T* grad = col + (n * p.col_channels + g * M) * P;
      for (int64_t bi = b0; bi < b1; ++bi) {
        const Block& b = blocks[size_t(bi)];
        const T* gb = grad + b.c0 * P;
        Vec<T>* ab = accm + b.c0 * K;
        if (b.cb == 4 && kMaxWeightChannels >= 4)
          weight_channels<T, kMaxWeightChannels>(K, buf, row_elems, p.Ho, p.Wo, offs.data(), gb, P, ab, first, pf);
        else if (b.cb == 2)
          weight_channels<T, 2>(K, buf, row_elems, p.Ho, p.Wo, offs.data(), gb, P, ab, first, pf);
        else
          weight_channels<T, 1>(K, buf, row_elems, p.Ho, p.Wo, offs.data(), gb, P, ab, first, pf);
      }
    }
    double* res = partial + cg * wg;
    for (int64_t i = w0; i < w1; ++i) res[i] = simd::sum_lanes<T>(accm[i]);
  }
  // Chunk c's sums are partial[c * total, (c + 1) * total): added chunk after chunk, each a
  // contiguous pass (a loop over the chunks per weight strode by total and missed the cache).
  const int64_t total = p.groups * wg;
  double* sum = thread_scratch<double, WeightSums>(total);
  std::fill(sum, sum + total, 0.0);
  for (int64_t c = 0; c < chunks; ++c) {
    const double* part = partial + c * total;
    for (int64_t i = 0; i < total; ++i) sum[i] += part[i];
  }
  for (int64_t i = 0; i < total; ++i) dw[i] = T(sum[i]);
}

#define SDKD_INSTANTIATE_DIRECT(T)                                                              \
  template void direct_forward<T>(const ConvProblem&, const T*, const T*, const T*, T*);       \
  template void direct_backward_data<T>(const ConvProblem&, const T*, const T*, const T*, T*); \
  template void direct_backward_weight<T>(const ConvProblem&, const T*, const T*, T*);
SDKD_INSTANTIATE_DIRECT(float)
SDKD_INSTANTIATE_DIRECT(double)
#undef SDKD_INSTANTIATE_DIRECT

}  // namespace sdkd::cpu
