#include "kernels/cpu/conv_padded.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cpu/conv_simd.hpp"

namespace sdkd::cpu {
namespace {

// n elements from in to d in whole vectors and one partial one. The rows copied here are short
// (16 floats on SimVP's 16 x 16 maps), and std::copy's call into memmove cost as much as the
// copy (perf: a third of the depthwise forward's refill time).
template <class T>
void copy_row(const T* in, int64_t n, T* d) {
  constexpr int64_t L = simd::kLanes<T>;
  int64_t j = 0;
  for (; j + L <= n; j += L) simd::store<T>(d + j, simd::load(in + j));
  if (j < n) simd::store_first<T>(d + j, simd::load_first(in + j, n - j), n - j);
}

// ceil(a / b) for b > 0 and any sign of a.
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Zero, source, zero: the padded row of phase p in lanes [0, lane).
template <class T>
void fill_phase(const PaddedLayout& L, const T* in, int64_t p, T* d) {
  const int64_t lane = L.lane_len, ph = L.phases;
  // Lane j reads source column j * ph + p + off_w, inside [0, src_W) for j in [lo, hi).
  const int64_t lo = std::clamp<int64_t>(ceil_div(-L.off_w - p, ph), 0, lane);
  const int64_t hi = std::clamp<int64_t>(ceil_div(L.src_W - L.off_w - p, ph), lo, lane);
  std::fill(d, d + lo, T(0));
  if (ph == 1) {
    std::copy(in + lo + L.off_w, in + hi + L.off_w, d + lo);
  } else {
    for (int64_t j = lo; j < hi; ++j) d[j] = in[j * ph + p + L.off_w];
  }
  std::fill(d + hi, d + lane, T(0));
}

// Lanes J of the even and odd elements of the 2L elements a, b (an interleaved pair of rows).
template <class T, int... J>
[[gnu::always_inline]] inline void deinterleave(simd::Vec<T> a, simd::Vec<T> b, simd::Vec<T>& even, simd::Vec<T>& odd,
                                                std::integer_sequence<int, J...>) {
  even = __builtin_shufflevector(a, b, (2 * J)...);
  odd = __builtin_shufflevector(a, b, (2 * J + 1)...);
}

// Stride 2: lane j of phase p is source column 2j + p + off_w, zero outside [0, src_W). The
// lanes of a row fall in three spans, the same for every row of a layout (TwoPhaseSpan): the
// leading padding lanes [0, lo), the lanes whose two columns both lie inside the row [lo, hi),
// the trailing lanes with one column inside [hi, end), and zeros after. Inside, two loaded
// vectors are split into their even and odd lanes by two shuffles. (The scalar split of a
// padded copy made this fill cost 40 % of a stride-2 forward pass; with the spans computed
// per row it still took 18 us per 16 x 64 x 64 image from cache, 50 cycles a row.)
struct TwoPhaseSpan {
  int64_t lo = 0, hi = 0, end = 0;
};

TwoPhaseSpan two_phase_span(const PaddedLayout& L) {
  const int64_t lane = L.lane_len, W = L.src_W, off = L.off_w;
  TwoPhaseSpan s;
  s.lo = std::clamp<int64_t>(ceil_div(-off, 2), 0, lane);  // 2j + off >= 0
  s.hi = std::clamp<int64_t>(W - off >= 0 ? (W - off) / 2 : 0, s.lo, lane);  // 2j + 1 + off <= W - 1
  s.end = std::clamp<int64_t>(ceil_div(W - off, 2), s.hi, lane);  // 2j + off <= W - 1
  return s;
}

template <class T>
[[gnu::always_inline]] inline void fill_two_phases(const PaddedLayout& L, const TwoPhaseSpan& sp, const T* in, T* row,
                                                   bool zero_tail) {
  constexpr int64_t V = simd::kLanes<T>;
  const int64_t lane = L.lane_len, W = L.src_W, off = L.off_w;
  T* d0 = row;
  T* d1 = row + lane;
  const auto at = [&](int64_t c) { return c >= 0 && c < W ? in[c] : T(0); };
  for (int64_t j = 0; j < sp.lo; ++j) d0[j] = at(2 * j + off), d1[j] = at(2 * j + 1 + off);
  int64_t j = sp.lo;
  if (sp.hi - sp.lo >= V) {
    // The last vector may overlap the one before it (the same values written twice): the
    // inside span is rarely a whole number of vectors.
    for (;; j += V) {
      j = std::min(j, sp.hi - V);
      simd::Vec<T> even, odd;
      const T* s = in + 2 * j + off;
      deinterleave<T>(simd::load(s), simd::load(s + V), even, odd, std::make_integer_sequence<int, int(V)>{});
      simd::store<T>(d0 + j, even);
      simd::store<T>(d1 + j, odd);
      if (j + V >= sp.hi) break;
    }
    j = sp.hi;
  }
  for (; j < sp.end; ++j) d0[j] = at(2 * j + off), d1[j] = at(2 * j + 1 + off);
  if (!zero_tail) return;  // a refill: those zeros are still there
  std::fill(d0 + sp.end, d0 + lane, T(0));
  std::fill(d1 + sp.end, d1 + lane, T(0));
}

}  // namespace

template <class T>
void fill_padded(const PaddedLayout& L, const T* src, int64_t channels, T* buf) {
  const TwoPhaseSpan span = two_phase_span(L);
  for (int64_t ch = 0; ch < channels; ++ch) {
    const T* plane = src + ch * L.src_H * L.src_W;
    T* dst = buf + ch * L.channel_pitch();
    for (int64_t r = 0; r < L.rows; ++r) {
      T* row = dst + r * L.row_pitch();
      const int64_t ir = r + L.off_h;
      if (ir < 0 || ir >= L.src_H) {
        std::fill(row, row + L.row_pitch(), T(0));
      } else if (L.phases == 2) {
        fill_two_phases(L, span, plane + ir * L.src_W, row, true);
      } else {
        for (int64_t p = 0; p < L.phases; ++p) fill_phase(L, plane + ir * L.src_W, p, row + p * L.lane_len);
      }
    }
  }
}

// The buffer starts on a cache line, so with row pitches of whole vectors (the plans round
// them up) every kernel tap's load crosses as few lines as its column offset allows.
constexpr size_t kAlign = 64;
template <class T>
T* aligned(std::vector<T>& v) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
  return reinterpret_cast<T*>((p + kAlign - 1) & ~uintptr_t(kAlign - 1));
}

template <class T>
const T* padded_source(const PaddedLayout& L, const T* src, int64_t channels) {
  thread_local std::vector<T> storage;
  thread_local PaddedLayout filled;
  thread_local int64_t filled_channels = -1;  // -1: the buffer's zeros are not known
  if (filled_channels != channels || !(filled == L) || L.phases > 2) {
    filled_channels = -1;
    storage.resize(size_t(channels * L.channel_pitch() + kAlign));
    fill_padded(L, src, channels, aligned(storage));
    filled = L, filled_channels = channels;
    return aligned(storage);
  }
  T* buf = aligned(storage);
  // Rows r and columns j whose source element (r + off_h, j + off_w) lies inside the plane.
  const int64_t r0 = std::clamp<int64_t>(-L.off_h, 0, L.rows), r1 = std::clamp<int64_t>(L.src_H - L.off_h, r0, L.rows);
  if (L.phases == 2) {  // the lanes that read inside the row, both phases; the zeros stay
    const TwoPhaseSpan span = two_phase_span(L);
    for (int64_t ch = 0; ch < channels; ++ch)
      for (int64_t r = r0; r < r1; ++r)
        fill_two_phases(L, span, src + (ch * L.src_H + r + L.off_h) * L.src_W,
                        buf + ch * L.channel_pitch() + r * L.row_pitch(), false);
    return buf;
  }
  const int64_t j0 = std::clamp<int64_t>(-L.off_w, 0, L.lane_len);
  const int64_t j1 = std::clamp<int64_t>(L.src_W - L.off_w, j0, L.lane_len);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t r = r0; r < r1; ++r) {
      const T* in = src + (ch * L.src_H + r + L.off_h) * L.src_W + L.off_w;
      copy_row(in + j0, j1 - j0, buf + ch * L.channel_pitch() + r * L.row_pitch() + j0);
    }
  return buf;
}

template void fill_padded<float>(const PaddedLayout&, const float*, int64_t, float*);
template void fill_padded<double>(const PaddedLayout&, const double*, int64_t, double*);
template const float* padded_source<float>(const PaddedLayout&, const float*, int64_t);
template const double* padded_source<double>(const PaddedLayout&, const double*, int64_t);

}  // namespace sdkd::cpu
