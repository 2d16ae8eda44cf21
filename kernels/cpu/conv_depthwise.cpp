// Depthwise convolution. The shapes the models use (stride 1; kH x dil_h one of kTileShapes, e.g.
// SimVP's 5x5 and 7x7 dilation 3) get a kernel with the tap rows and dilation as template
// parameters: a tile of NV output rows at one vector column walks the padded plane's rows once
// per kernel column, and every loaded vector feeds each output row that tap rows bring onto it
// (up to kH multiply-adds per load, where an output-major loop needs a load per multiply-add).
// The weight gradient turns the same tile around: the tile's NV gradient rows stay in registers
// and every loaded source vector feeds the kH weight sums of one kernel column. Everything else
// goes to the general direct loops (conv_direct.hpp), which are also deterministic and correct
// for any depthwise problem.
#include "kernels/cpu/conv_depthwise.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv_depthwise_lanes.hpp"
#include "kernels/cpu/conv_direct.hpp"
#include "kernels/cpu/conv_direct_plan.hpp"
#include "kernels/cpu/conv_padded.hpp"
#include "kernels/cpu/conv_simd.hpp"
#include "kernels/cpu/thread_scratch.hpp"
#include "kernels/cpu/parallel_policy.hpp"

namespace sdkd::cpu {
namespace {

using kern::ConvProblem;
using simd::Vec;

template <class T>
constexpr int64_t kL = simd::kLanes<T>;

struct FlippedKernel;  // backward-data's kernel, reversed

bool run_parallel(const ConvProblem& p) {
  const int64_t macs = p.N * p.col_channels * p.col_plane() * p.taps();
  return macs >= (int64_t(1) << 17) && threads_pay_flops(2.0 * double(macs));
}

// out rows oh0 .. oh0+NV-1 at columns [ow, ow + n) (row pitch ld) = bias + sum over taps of
// wt[ki][kj] * buf[(oh0 + v + ki*DH) * rp + ow + kj*dw]. Vector u of a kernel column is padded
// row oh0 + u; tap row ki brings it onto output row v = u - ki*DH.
template <class T, int KH, int DH, int NV>
void rows_tile(const T* buf, int64_t rp, int64_t kW, int64_t dw, const T* wt, T bias, int64_t oh0, int64_t ow,
               T* out, int64_t ld, int64_t n) {
  constexpr int U = NV + (KH - 1) * DH;
  Vec<T> acc[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) acc[v] = simd::splat(bias);
  for (int64_t kj = 0; kj < kW; ++kj) {
    T wk[KH];
#pragma GCC unroll 16
    for (int ki = 0; ki < KH; ++ki) wk[ki] = wt[ki * kW + kj];
    const T* col = buf + oh0 * rp + ow + kj * dw;
#pragma GCC unroll 64
    for (int u = 0; u < U; ++u) {
      const Vec<T> x = simd::load(col + u * rp);
#pragma GCC unroll 16
      for (int ki = 0; ki < KH; ++ki) {
        const int v = u - ki * DH;
        if (v >= 0 && v < NV) acc[v] += wk[ki] * x;
      }
    }
  }
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    T* d = out + (oh0 + v) * ld + ow;
    if (n == kL<T>)
      simd::store<T>(d, acc[v]);
    else
      simd::store_first<T>(d, acc[v], n);
  }
}

// A whole out_H x out_W plane (out_H >= NV): tiles of NV rows, the last one moved up to end at
// the last row (its overlap is computed twice with the same arithmetic, so both writes agree).
template <class T, int KH, int DH, int NV>
void plane_tiles(const T* buf, int64_t rp, int64_t kW, int64_t dw, const T* wt, T bias, int64_t out_H, int64_t out_W,
                 T* out) {
  for (int64_t ow = 0; ow < out_W; ow += kL<T>) {
    const int64_t n = std::min(kL<T>, out_W - ow);
    for (int64_t oh0 = 0; oh0 < out_H; oh0 += NV)
      rows_tile<T, KH, DH, NV>(buf, rp, kW, dw, wt, bias, std::min(oh0, out_H - NV), ow, out, out_W, n);
  }
}

template <class T, int KH, int DH>
auto pick_rows(int64_t out_H) -> void (*)(const T*, int64_t, int64_t, int64_t, const T*, T, int64_t, int64_t, T*) {
  if (out_H >= 16) return plane_tiles<T, KH, DH, 16>;
  if (out_H >= 8) return plane_tiles<T, KH, DH, 8>;
  if (out_H >= 4) return plane_tiles<T, KH, DH, 4>;
  return nullptr;
}

// The (kernel rows, row dilation) pairs that have tiled kernels, one list for every pass:
// pick.template operator()<KH, DH>() for the problem's pair, null for any other.
template <class Kernel, class Pick>
Kernel by_tile_shape(int64_t kH, int64_t dh, Pick pick) {
  if (kH == 3 && dh == 1) return pick.template operator()<3, 1>();
  if (kH == 3 && dh == 2) return pick.template operator()<3, 2>();
  if (kH == 5 && dh == 1) return pick.template operator()<5, 1>();
  if (kH == 5 && dh == 2) return pick.template operator()<5, 2>();
  if (kH == 7 && dh == 1) return pick.template operator()<7, 1>();
  if (kH == 7 && dh == 3) return pick.template operator()<7, 3>();
  return nullptr;
}

// The tiled kernel for (kH, dil_h), or null where there is none (then: conv_direct).
template <class T>
auto tiled_kernel(int64_t kH, int64_t dh, int64_t out_H)
    -> void (*)(const T*, int64_t, int64_t, int64_t, const T*, T, int64_t, int64_t, T*) {
  using Kernel = void (*)(const T*, int64_t, int64_t, int64_t, const T*, T, int64_t, int64_t, T*);
  return by_tile_shape<Kernel>(kH, dh, [&]<int KH, int DH>() { return pick_rows<T, KH, DH>(out_H); });
}

// The weight-gradient tile: sums[ki * kW + kj] += grad rows oh0 + v (v >= skip; the rows
// below skip belong to the previous tile) times the source vectors tap (ki, kj) brings onto
// them, at columns [ow, ow + n). NV gradient vectors and KH sums of one kernel column stay in
// registers, so each source load feeds up to KH multiply-adds.
// Full: n is a whole vector (a compile-time choice: a select per load made GCC spill the tile).
template <class T, int KH, int DH, int NV, bool Full>
void weight_rows_tile(const T* buf, int64_t rp, int64_t kW, int64_t dw, const T* grad, int64_t ld, int64_t oh0,
                      int skip, int64_t ow, int64_t n, Vec<T>* sums) {
  constexpr int U = NV + (KH - 1) * DH;
  Vec<T> g[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const T* gr = grad + (oh0 + v) * ld + ow;
    g[v] = v < skip ? Vec<T>{} : (Full ? simd::load(gr) : simd::load_first(gr, n));
  }
  for (int64_t kj = 0; kj < kW; ++kj) {
    Vec<T> acc[KH];
#pragma GCC unroll 16
    for (int ki = 0; ki < KH; ++ki) acc[ki] = Vec<T>{};
    const T* col = buf + oh0 * rp + ow + kj * dw;
#pragma GCC unroll 64
    for (int u = 0; u < U; ++u) {
      // Past the last column only zero gradient lanes meet the source: loading just n lanes
      // keeps an infinite source value there from turning a sum into NaN.
      const Vec<T> x = simd::in_register(Full ? simd::load(col + u * rp) : simd::load_first(col + u * rp, n));
#pragma GCC unroll 16
      for (int ki = 0; ki < KH; ++ki) {
        const int v = u - ki * DH;
        if (v >= 0 && v < NV) acc[ki] += g[v] * x;
      }
    }
#pragma GCC unroll 16
    for (int ki = 0; ki < KH; ++ki) sums[ki * kW + kj] += acc[ki];
  }
}

// A whole out_H x out_W gradient plane (out_H >= NV) into sums, in a fixed order: vector
// columns, then tiles of NV rows, the last one moved up with its repeated rows masked.
template <class T, int KH, int DH, int NV>
void weight_plane_tiles(const T* buf, int64_t rp, int64_t kW, int64_t dw, const T* grad, int64_t out_H,
                        int64_t out_W, Vec<T>* sums) {
  for (int64_t ow = 0; ow < out_W; ow += kL<T>) {
    const int64_t n = std::min(kL<T>, out_W - ow);
    for (int64_t oh0 = 0; oh0 < out_H; oh0 += NV) {
      const int64_t at = std::min(oh0, out_H - NV);
      if (n == kL<T>)
        weight_rows_tile<T, KH, DH, NV, true>(buf, rp, kW, dw, grad, out_W, at, int(oh0 - at), ow, n, sums);
      else
        weight_rows_tile<T, KH, DH, NV, false>(buf, rp, kW, dw, grad, out_W, at, int(oh0 - at), ow, n, sums);
    }
  }
}

template <class T>
using WeightTiles = void (*)(const T*, int64_t, int64_t, int64_t, const T*, int64_t, int64_t, Vec<T>*);

// Gradient rows held in registers: with 32 vector registers 16 rows (plus 7 sums and the
// loaded vector), with 16 registers 4.
template <class T, int KH, int DH>
WeightTiles<T> pick_weight_rows(int64_t out_H) {
  if (simd::kRegisters >= 32 && out_H >= 16) return weight_plane_tiles<T, KH, DH, 16>;
  if (simd::kRegisters >= 32 && out_H >= 8) return weight_plane_tiles<T, KH, DH, 8>;
  if (out_H >= 4) return weight_plane_tiles<T, KH, DH, 4>;
  return nullptr;
}

template <class T>
WeightTiles<T> tiled_weight_kernel(int64_t kH, int64_t dh, int64_t out_H) {
  return by_tile_shape<WeightTiles<T>>(kH, dh, [&]<int KH, int DH>() { return pick_weight_rows<T, KH, DH>(out_H); });
}

struct WeightSums;  // thread_scratch tag

bool unit_stride(const ConvProblem& p) { return p.stride_h == 1 && p.stride_w == 1; }

// ---- rows of exactly one vector (conv_depthwise_lanes.hpp): no padded copy ----------------

// Square kernels with 'same' padding on planes one vector wide (input and output alike).
template <class T>
bool lanes_fit(const ConvProblem& p) {
  return unit_stride(p) && p.W == kL<T> && p.Wo == p.W && p.Ho == p.H && p.kW == p.kH && p.dil_w == p.dil_h &&
         p.pad_w == p.pad_h && 2 * int64_t(p.pad_h) == (p.kH - 1) * p.dil_h;
}

template <class T>
using LaneTiles = void (*)(const T*, int64_t, const T*, T, T*);
template <class T>
using LaneWeightTiles = void (*)(const T*, int64_t, const T*, Vec<T>*);

// The same tile heights as pick_rows and pick_weight_rows (the weight sums' order follows the
// tiles, and the bits must be those of the padded path).
template <class T>
LaneTiles<T> lane_kernel(const ConvProblem& p) {
  if (!lanes_fit<T>(p)) return nullptr;
  return by_tile_shape<LaneTiles<T>>(p.kH, p.dil_h, [&]<int KH, int DH>() -> LaneTiles<T> {
    if (p.H >= 16) return depthwise_lanes::plane_tiles<T, KH, DH, 16>;
    if (p.H >= 8) return depthwise_lanes::plane_tiles<T, KH, DH, 8>;
    if (p.H >= 4) return depthwise_lanes::plane_tiles<T, KH, DH, 4>;
    return nullptr;
  });
}

template <class T>
LaneWeightTiles<T> lane_weight_kernel(const ConvProblem& p) {
  if (!lanes_fit<T>(p)) return nullptr;
  return by_tile_shape<LaneWeightTiles<T>>(p.kH, p.dil_h, [&]<int KH, int DH>() -> LaneWeightTiles<T> {
    if (simd::kRegisters >= 32 && p.H >= 16) return depthwise_lanes::weight_plane_tiles<T, KH, DH, 16>;
    if (simd::kRegisters >= 32 && p.H >= 8) return depthwise_lanes::weight_plane_tiles<T, KH, DH, 8>;
    if (p.H >= 4) return depthwise_lanes::weight_plane_tiles<T, KH, DH, 4>;
    return nullptr;
  });
}

}  // namespace

template <class T>
void depthwise_forward(const ConvProblem& p, const T* img, const T* w, const T* bias, T* col) {
  if (const LaneTiles<T> lanes = lane_kernel<T>(p)) {
    const int64_t C = p.col_channels, multiplier = p.col_group(), taps = p.taps();
#pragma omp parallel for schedule(static) if (run_parallel(p))
    for (int64_t task = 0; task < p.N * C; ++task) {
      const int64_t n = task / C, c = task % C;
      lanes(img + (n * p.groups + c / multiplier) * p.img_plane(), p.H, w + c * taps,
            bias != nullptr ? bias[c] : T(0), col + task * p.col_plane());
    }
    return;
  }
  const auto kernel = unit_stride(p) ? tiled_kernel<T>(p.kH, p.dil_h, p.Ho) : nullptr;
  if (kernel == nullptr) return direct_forward(p, img, w, bias, col);
  const PaddedLayout pad = plan_forward(p, kL<T>).pad;
  const int64_t C = p.col_channels, multiplier = p.col_group(), taps = p.taps();
#pragma omp parallel for schedule(static) if (run_parallel(p))
  for (int64_t task = 0; task < p.N * C; ++task) {
    const int64_t n = task / C, c = task % C;
    const T* buf = padded_source(pad, img + (n * p.groups + c / multiplier) * p.img_plane(), 1);
    kernel(buf, pad.row_pitch(), p.kW, p.dil_w, w + c * taps, bias != nullptr ? bias[c] : T(0), p.Ho, p.Wo,
           col + task * p.col_plane());
  }
}

// At stride 1 the adjoint is the same gather from the column side with the kernel flipped
// (conv_direct_plan.hpp's single backward-data pass), so the tiled kernel serves it too.
template <class T>
void depthwise_backward_data(const ConvProblem& p, const T* col, const T* w, T* img) {
  if (const LaneTiles<T> lanes = p.col_group() == 1 ? lane_kernel<T>(p) : nullptr) {
    const int64_t taps = p.taps();
#pragma omp parallel for schedule(static) if (run_parallel(p))
    for (int64_t task = 0; task < p.N * p.groups; ++task) {
      T* flipped = thread_scratch<T, FlippedKernel>(taps);
      std::reverse_copy(w + task % p.groups * taps, w + (task % p.groups + 1) * taps, flipped);
      lanes(col + task * p.col_plane(), p.H, flipped, T(0), img + task * p.img_plane());
    }
    return;
  }
  const auto kernel = unit_stride(p) && p.col_group() == 1 ? tiled_kernel<T>(p.kH, p.dil_h, p.H) : nullptr;
  if (kernel == nullptr) return direct_backward_data(p, col, w, static_cast<const T*>(nullptr), img);
  const PaddedLayout pad = plan_backward_data(p, kL<T>).pad;
  const int64_t C = p.groups, taps = p.taps();
#pragma omp parallel for schedule(static) if (run_parallel(p))
  for (int64_t task = 0; task < p.N * C; ++task) {
    const int64_t c = task % C;
    T* flipped = thread_scratch<T, FlippedKernel>(taps);
    std::reverse_copy(w + c * taps, w + (c + 1) * taps, flipped);
    const T* buf = padded_source(pad, col + task * p.col_plane(), 1);
    kernel(buf, pad.row_pitch(), p.kW, p.dil_w, flipped, T(0), p.H, p.W, img + task * p.img_plane());
  }
}

// One task per column channel: its vector sums run over the images in order and their lanes
// are reduced in double once, so every bit of dw is fixed by the problem, whatever the thread
// count. (The direct loops cut the batch into chunks for parallelism; a depthwise problem has
// a channel per task to spare.)
template <class T>
void depthwise_backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw) {
  const LaneWeightTiles<T> lanes = lane_weight_kernel<T>(p);
  const auto kernel = lanes == nullptr && unit_stride(p) ? tiled_weight_kernel<T>(p.kH, p.dil_h, p.Ho) : nullptr;
  if (kernel == nullptr && lanes == nullptr) return direct_backward_weight(p, img, col, dw);
  const PaddedLayout pad = kernel != nullptr ? plan_forward(p, kL<T>).pad : PaddedLayout{};
  const int64_t C = p.col_channels, multiplier = p.col_group(), taps = p.taps();
#pragma omp parallel for schedule(static) if (run_parallel(p))
  for (int64_t c = 0; c < C; ++c) {
    Vec<T>* sums = reinterpret_cast<Vec<T>*>(thread_scratch<T, WeightSums>((taps + 1) * kL<T>));
    sums = reinterpret_cast<Vec<T>*>((reinterpret_cast<uintptr_t>(sums) + sizeof(Vec<T>) - 1) &
                                     ~uintptr_t(sizeof(Vec<T>) - 1));  // vector-aligned
    std::fill(sums, sums + taps, Vec<T>{});
    for (int64_t n = 0; n < p.N; ++n) {
      const T* src = img + (n * p.groups + c / multiplier) * p.img_plane();
      const T* grad = col + (n * C + c) * p.col_plane();
      if (lanes != nullptr) {
        lanes(src, p.H, grad, sums);
        continue;
      }
      kernel(padded_source(pad, src, 1), pad.row_pitch(), p.kW, p.dil_w, grad, p.Ho, p.Wo, sums);
    }
    for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = T(simd::sum_lanes<T>(sums[t]));
  }
}

#define SDKD_INSTANTIATE_DEPTHWISE(T)                                                        \
  template void depthwise_forward<T>(const ConvProblem&, const T*, const T*, const T*, T*); \
  template void depthwise_backward_data<T>(const ConvProblem&, const T*, const T*, T*);     \
  template void depthwise_backward_weight<T>(const ConvProblem&, const T*, const T*, T*);
SDKD_INSTANTIATE_DEPTHWISE(float)
SDKD_INSTANTIATE_DEPTHWISE(double)
#undef SDKD_INSTANTIATE_DEPTHWISE

}  // namespace sdkd::cpu
