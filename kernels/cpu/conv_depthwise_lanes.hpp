#pragma once
// Depthwise tiles for planes whose rows are exactly one vector wide (SimVP's 16 x 16 latent
// with 16 float lanes), with 'same' padding. Each kernel column's horizontal offset is a lane
// shift of the source row's one aligned vector, zeros shifted in, so no padded copy of the
// plane is made: the copy of a 16 x 16 plane cost a third as much as its 5 x 5 taps. Rows
// above and below the plane read a vector of zeros.
//
// The loops are conv_depthwise.cpp's rows_tile / weight_rows_tile with the loaded vector of
// tap (u, kj) replaced by the same values shifted into place, in the same order, so every
// result has the same bits as on the padded path.
#include <cstdint>
#include <utility>

#include "kernels/cpu/conv_simd.hpp"

namespace sdkd::cpu::depthwise_lanes {

using simd::Vec;

template <class T>
constexpr int kL = int(simd::kLanes<T>);

// Lane j of the result is lane j + S of x, or zero where j + S is outside the vector.
// __builtin_shufflevector (GCC >= 12 and clang) takes constant lane indices; an index of kL<T>
// (and above) selects from the second operand, the zero vector.
template <class T, int S, int... J>
[[gnu::always_inline]] inline Vec<T> shifted_by(Vec<T> x, std::integer_sequence<int, J...>) {
  return __builtin_shufflevector(x, Vec<T>{}, ((J + S >= 0 && J + S < kL<T>) ? J + S : kL<T>)...);
}
template <class T, int S>
[[gnu::always_inline]] inline Vec<T> shifted(Vec<T> x) {
  if constexpr (S == 0) return x;
  else return shifted_by<T, S>(x, std::make_integer_sequence<int, kL<T>>{});
}

// A row of zeros, for the source rows outside the plane.
template <class T>
const T* zero_row() {
  alignas(64) static const T zeros[kL<T>] = {};
  return zeros;
}

// Source rows oh0 - pad + u, u < U, of a plane of H rows (one vector each).
template <class T, int U>
[[gnu::always_inline]] inline void source_rows(const T* plane, int64_t H, int64_t pad, int64_t oh0, const T* (&rows)[U]) {
#pragma GCC unroll 64
  for (int u = 0; u < U; ++u) {
    const int64_t r = oh0 - pad + u;
    rows[u] = r >= 0 && r < H ? plane + r * kL<T> : zero_row<T>();
  }
}

// Calls f.template operator()<J>() for J = 0 .. N-1, in order.
template <int N, class F>
[[gnu::always_inline]] inline void for_each_column(F&& f) {
  [&]<int... J>(std::integer_sequence<int, J...>) { (f.template operator()<J>(), ...); }(
      std::make_integer_sequence<int, N>{});
}

// out rows oh0 .. oh0 + NV - 1 (a plane of H x kL rows) = bias + sum over the K x K taps of
// wt[ki][kj] * src[oh0 + v + ki*D - pad][. + kj*D - pad], pad = (K - 1) * D / 2.
// Whole: the tile is the whole plane, and the taps on the rows of zeros above and below it are
// left out, as in weight_rows_tile (the same bits, but for the sign of an exactly zero output
// with a bias of -0).
template <class T, int K, int D, int NV, bool Whole = false>
void rows_tile(const T* src, int64_t H, const T* wt, T bias, int64_t oh0, T* out) {
  constexpr int U = NV + (K - 1) * D, pad = (K - 1) * D / 2;
  const T* rows[U];
  source_rows<T, U>(src, H, pad, oh0, rows);
  Vec<T> acc[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) acc[v] = simd::splat(bias);
  for_each_column<K>([&]<int KJ>() {
    T wk[K];
#pragma GCC unroll 16
    for (int ki = 0; ki < K; ++ki) wk[ki] = wt[ki * K + KJ];
#pragma GCC unroll 64
    for (int u = 0; u < U; ++u) {
      if (Whole && (u < pad || u >= pad + NV)) continue;
      const Vec<T> x = shifted<T, KJ * D - pad>(simd::load(rows[u]));
#pragma GCC unroll 16
      for (int ki = 0; ki < K; ++ki) {
        const int v = u - ki * D;
        if (v >= 0 && v < NV) acc[v] += wk[ki] * x;
      }
    }
  });
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) simd::store<T>(out + (oh0 + v) * kL<T>, acc[v]);
}

// A whole H-row plane (H >= NV), tiles of NV rows, the last moved up to end at the last row.
template <class T, int K, int D, int NV>
void plane_tiles(const T* src, int64_t H, const T* wt, T bias, T* out) {
  if (H == NV) return rows_tile<T, K, D, NV, true>(src, H, wt, bias, 0, out);
  for (int64_t oh0 = 0; oh0 < H; oh0 += NV) rows_tile<T, K, D, NV>(src, H, wt, bias, std::min(oh0, H - NV), out);
}

// sums[ki * K + kj] += gradient rows oh0 + v (v >= skip) times the source vectors tap (ki, kj)
// brings onto them.
// Whole: the tile is the whole plane (H == NV, oh0 = 0), so which source rows lie outside it is
// known at compile time, and their multiply-adds (a zero vector times the gradient) are left
// out: on SimVP's 16 x 16 planes with 7 x 7 taps of dilation 3 they were a third of the tile.
// A sum that starts at +0 and only adds is never -0, and adding +-0 to any other value
// leaves it unchanged, so the bits are those of the full loop (but for an infinite gradient,
// whose product with a padding zero is no longer a NaN).
template <class T, int K, int D, int NV, bool Whole = false>
void weight_rows_tile(const T* src, int64_t H, const T* grad, int64_t oh0, int skip, Vec<T>* sums) {
  constexpr int U = NV + (K - 1) * D, pad = (K - 1) * D / 2;
  const T* rows[U];
  source_rows<T, U>(src, H, pad, oh0, rows);
  Vec<T> g[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) g[v] = v < skip ? Vec<T>{} : simd::load(grad + (oh0 + v) * kL<T>);
  for_each_column<K>([&]<int KJ>() {
    Vec<T> acc[K];
#pragma GCC unroll 16
    for (int ki = 0; ki < K; ++ki) acc[ki] = Vec<T>{};
#pragma GCC unroll 64
    for (int u = 0; u < U; ++u) {
      if (Whole && (u < pad || u >= pad + NV)) continue;  // a row of zeros above or below the plane
      const Vec<T> x = simd::in_register(shifted<T, KJ * D - pad>(simd::load(rows[u])));
#pragma GCC unroll 16
      for (int ki = 0; ki < K; ++ki) {
        const int v = u - ki * D;
        if (v >= 0 && v < NV) acc[ki] += g[v] * x;
      }
    }
#pragma GCC unroll 16
    for (int ki = 0; ki < K; ++ki) sums[ki * K + KJ] += acc[ki];
  });
}

template <class T, int K, int D, int NV>
void weight_plane_tiles(const T* src, int64_t H, const T* grad, Vec<T>* sums) {
  if (H == NV) return weight_rows_tile<T, K, D, NV, true>(src, H, grad, 0, 0, sums);
  for (int64_t oh0 = 0; oh0 < H; oh0 += NV) {
    const int64_t at = std::min(oh0, H - NV);
    weight_rows_tile<T, K, D, NV>(src, H, grad, at, int(oh0 - at), sums);
  }
}

}  // namespace sdkd::cpu::depthwise_lanes
