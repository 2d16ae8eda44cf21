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

// Stride 2: lane j of phase p is source column 2j + p + off_w, zero outside [0, src_W). The
// row is read in aligned pairs of vectors from its start and split into its even and odd
// columns by two shuffles; column c = 2i + r (parity r) belongs to phase (r - off_w) mod 2, lane
// i + shift_r, so each half is one store at a fixed lane shift. (Loads at 2j + off_w instead,
// one column off the row's alignment for padding 1, crossed a cache line every time and, with
// the edge lanes done one by one, took 7-8 us per 8 x 64 x 64 image from L2, against 3.4-4.4
// for the same loop at padding 0, where the loads are aligned; this split takes about 6. The
// copy had been a third of U-Net down1's forward pass.)
struct TwoPhaseSplit {
  int64_t phase[2], shift[2];  // per column parity r
  int64_t lo[2], hi[2];        // the source halves' indices i that land inside [0, lane_len)
};

TwoPhaseSplit two_phase_split(const PaddedLayout& L) {
  TwoPhaseSplit s;
  for (int64_t r = 0; r < 2; ++r) {
    s.phase[r] = ((r - L.off_w) % 2 + 2) % 2;
    s.shift[r] = (r - L.off_w - s.phase[r]) / 2;  // exact
    const int64_t count = (L.src_W - r + 1) / 2;   // columns of parity r
    s.lo[r] = std::clamp<int64_t>(-s.shift[r], 0, count);
    s.hi[r] = std::clamp<int64_t>(L.lane_len - s.shift[r], s.lo[r], count);
  }
  return s;
}

// Lanes J of the even and odd elements of the 2L elements a, b (an interleaved pair of rows).
template <class T, int... J>
[[gnu::always_inline]] inline void deinterleave(simd::Vec<T> a, simd::Vec<T> b, simd::Vec<T>& even, simd::Vec<T>& odd,
                                                std::integer_sequence<int, J...>) {
  even = __builtin_shufflevector(a, b, (2 * J)...);
  odd = __builtin_shufflevector(a, b, (2 * J + 1)...);
}

// The lanes of both phases that read inside the row; the others are left as they are (zero).
template <class T>
[[gnu::always_inline]] inline void fill_two_phases(const PaddedLayout& L, const TwoPhaseSplit& sp, const T* in,
                                                   T* row) {
  constexpr int64_t V = simd::kLanes<T>;
  T* d[2] = {row + sp.phase[0] * L.lane_len + sp.shift[0], row + sp.phase[1] * L.lane_len + sp.shift[1]};
  // Both halves in whole vectors where both are inside, then each half's remaining lanes.
  const int64_t lo = std::max(sp.lo[0], sp.lo[1]), hi = std::min(sp.hi[0], sp.hi[1]);
  int64_t i = lo;
  for (; i + V <= hi; i += V) {
    simd::Vec<T> even, odd;
    deinterleave<T>(simd::load(in + 2 * i), simd::load(in + 2 * i + V), even, odd,
                    std::make_integer_sequence<int, int(V)>{});
    simd::store<T>(d[0] + i, even);
    simd::store<T>(d[1] + i, odd);
  }
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t k = sp.lo[r]; k < std::min(lo, sp.hi[r]); ++k) d[r][k] = in[2 * k + r];
    for (int64_t k = std::max(i, sp.lo[r]); k < sp.hi[r]; ++k) d[r][k] = in[2 * k + r];
  }
}

}  // namespace

template <class T>
void fill_padded(const PaddedLayout& L, const T* src, int64_t channels, T* buf) {
  const TwoPhaseSplit split = two_phase_split(L);
  for (int64_t ch = 0; ch < channels; ++ch) {
    const T* plane = src + ch * L.src_H * L.src_W;
    T* dst = buf + ch * L.channel_pitch();
    for (int64_t r = 0; r < L.rows; ++r) {
      T* row = dst + r * L.row_pitch();
      const int64_t ir = r + L.off_h;
      if (ir < 0 || ir >= L.src_H) {
        std::fill(row, row + L.row_pitch(), T(0));
      } else if (L.phases == 2) {
        std::fill(row, row + L.row_pitch(), T(0));
        fill_two_phases(L, split, plane + ir * L.src_W, row);
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

namespace {
// Two layouts that differ at most in off_h (the bands of one plan) have their zeros in the same
// places, but for the rows outside the source plane.
bool same_but_rows(PaddedLayout a, const PaddedLayout& b) {
  a.off_h = b.off_h;
  return a == b;
}
}  // namespace

template <class T>
const T* padded_source(const PaddedLayout& L, const T* src, int64_t channels) {
  thread_local std::vector<T> storage;
  thread_local PaddedLayout filled;
  thread_local int64_t filled_channels = -1;  // -1: the buffer's zeros are not known
  if (filled_channels != channels || !same_but_rows(filled, L) || L.phases > 2) {
    filled_channels = -1;
    storage.resize(size_t(channels * L.channel_pitch() + kAlign));
    fill_padded(L, src, channels, aligned(storage));
    filled = L, filled_channels = channels;
    return aligned(storage);
  }
  T* buf = aligned(storage);
  // Rows r and columns j whose source element (r + off_h, j + off_w) lies inside the plane.
  const int64_t r0 = std::clamp<int64_t>(-L.off_h, 0, L.rows), r1 = std::clamp<int64_t>(L.src_H - L.off_h, r0, L.rows);
  if (filled.off_h != L.off_h) {  // another band of the plan: its rows outside the plane are zero again
    for (int64_t ch = 0; ch < channels; ++ch) {
      T* plane = buf + ch * L.channel_pitch();
      std::fill(plane, plane + r0 * L.row_pitch(), T(0));
      std::fill(plane + r1 * L.row_pitch(), plane + L.rows * L.row_pitch(), T(0));
    }
    filled.off_h = L.off_h;
  }
  if (L.phases == 2) {  // the lanes that read inside the row, both phases; the zeros stay
    const TwoPhaseSplit split = two_phase_split(L);
    for (int64_t ch = 0; ch < channels; ++ch)
      for (int64_t r = r0; r < r1; ++r)
        fill_two_phases(L, split, src + (ch * L.src_H + r + L.off_h) * L.src_W,
                        buf + ch * L.channel_pitch() + r * L.row_pitch());
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
