// Depthwise convolution by direct loops. The workhorse is gather_plane: the input plane is
// copied once into a zero-padded buffer, after which every output row is a sum of shifted
// buffer rows with no bounds checks, computed kVec outputs at a time in registers (planes in
// these models are 16..64 wide, too short for row-at-a-time axpys to pay off).
// Backward-data at stride 1 is the same gather with the kernel flipped; at larger strides it
// is a scatter. Everything is parallel over independent planes or channels, so no result
// depends on the thread count.
#include "kernels/cpu/conv_depthwise.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/im2col.hpp"

namespace sdkd::cpu {
namespace {

// Outputs computed together: kRows rows x kVec columns, kRows independent accumulator chains
// so the FMA latency is hidden. Buffers are padded to whole tiles so no tile needs a bound.
constexpr int64_t kVec = 16;
constexpr int64_t kRows = 4;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

template <class T>
T* thread_buffer(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
  std::vector<T>& b = buffers[slot];
  if (b.size() < size_t(count)) b.resize(size_t(count));
  return b.data();
}

bool run_parallel(const ConvProblem& g) {
  return !omp_in_parallel() && g.N * g.col_channels * g.Ho * g.Wo * g.kH * g.kW >= (int64_t(1) << 17);
}

// out[oh][ow] (+)= sum over taps of wt[ki*kW + kj] * in[oh*sh + ki*dh + off_h][ow*sw + kj*dw
// + off_w], with `in` read as zero outside its in_H x in_W extent.
struct Gather {
  int64_t in_H, in_W, out_H, out_W, kH, kW, sh, sw, dh, dw, off_h, off_w;

  int64_t tiled_out_rows() const { return round_up(out_H, kRows); }
  int64_t padded_rows() const { return (tiled_out_rows() - 1) * sh + (kH - 1) * dh + 1; }
  int64_t padded_cols() const { return (round_up(out_W, kVec) - 1) * sw + (kW - 1) * dw + 1; }
  // The part of the buffer that real (not tile-padding) outputs read.
  int64_t used_rows() const { return (out_H - 1) * sh + (kH - 1) * dh + 1; }
  int64_t used_cols() const { return (out_W - 1) * sw + (kW - 1) * dw + 1; }
};

// buf[r][c] = in[r + off_h][c + off_w] inside `in` and the used part, zero elsewhere, so the
// padding outputs of a tile only ever see zeros.
template <class T>
void fill_padded(const Gather& g, const T* in, T* buf) {
  const int64_t rows = g.padded_rows(), cols = g.padded_cols();
  const int64_t c_lo = std::clamp<int64_t>(-g.off_w, 0, g.used_cols());
  const int64_t c_hi = std::clamp<int64_t>(g.in_W - g.off_w, c_lo, g.used_cols());
  for (int64_t r = 0; r < rows; ++r) {
    T* b = buf + r * cols;
    const int64_t ir = r + g.off_h;
    if (ir < 0 || ir >= g.in_H || r >= g.used_rows()) {
      std::fill(b, b + cols, T(0));
      continue;
    }
    std::fill(b, b + c_lo, T(0));
    std::copy(in + ir * g.in_W + c_lo + g.off_w, in + ir * g.in_W + c_hi + g.off_w, b + c_lo);
    std::fill(b + c_hi, b + cols, T(0));
  }
}

template <class T>
void gather_plane(const Gather& g, const T* in, const T* wt, T* out, bool accumulate) {
  T* buf = thread_buffer<T>(0, g.padded_rows() * g.padded_cols());
  fill_padded(g, in, buf);
  const int64_t cols = g.padded_cols();
  for (int64_t oh0 = 0; oh0 < g.out_H; oh0 += kRows) {
    for (int64_t ow0 = 0; ow0 < g.out_W; ow0 += kVec) {
      T acc[kRows][kVec] = {};
      for (int64_t ki = 0; ki < g.kH; ++ki) {
        const T* row = buf + (oh0 * g.sh + ki * g.dh) * cols + ow0 * g.sw;
        for (int64_t kj = 0; kj < g.kW; ++kj) {
          const T w = wt[ki * g.kW + kj];
          for (int64_t r = 0; r < kRows; ++r) {
            const T* src = row + r * g.sh * cols + kj * g.dw;
            if (g.sw == 1) {
#pragma omp simd
              for (int64_t j = 0; j < kVec; ++j) acc[r][j] += w * src[j];
            } else {
#pragma omp simd
              for (int64_t j = 0; j < kVec; ++j) acc[r][j] += w * src[j * g.sw];
            }
          }
        }
      }
      const int64_t rows = std::min(kRows, g.out_H - oh0), n = std::min(kVec, g.out_W - ow0);
      for (int64_t r = 0; r < rows; ++r) {
        T* o = out + (oh0 + r) * g.out_W + ow0;
        for (int64_t j = 0; j < n; ++j) o[j] = accumulate ? o[j] + acc[r][j] : acc[r][j];
      }
    }
  }
}

Gather forward_gather(const ConvProblem& g) {
  return Gather{.in_H = g.H,
                .in_W = g.W,
                .out_H = g.Ho,
                .out_W = g.Wo,
                .kH = g.kH,
                .kW = g.kW,
                .sh = g.stride_h,
                .sw = g.stride_w,
                .dh = g.dil_h,
                .dw = g.dil_w,
                .off_h = -g.pad_h,
                .off_w = -g.pad_w};
}

// At stride 1, img[ih][iw] = sum w[ki][kj] col[ih + pad_h - ki*dh][iw + pad_w - kj*dw]: a
// gather from col with the kernel flipped.
Gather flipped_gather(const ConvProblem& g) {
  return Gather{.in_H = g.Ho,
                .in_W = g.Wo,
                .out_H = g.H,
                .out_W = g.W,
                .kH = g.kH,
                .kW = g.kW,
                .sh = 1,
                .sw = 1,
                .dh = g.dil_h,
                .dw = g.dil_w,
                .off_h = g.pad_h - (g.kH - 1) * g.dil_h,
                .off_w = g.pad_w - (g.kW - 1) * g.dil_w};
}

// img += adjoint of the forward gather applied to one col plane (any stride).
template <class T>
void scatter_plane(const ConvProblem& g, const T* col, const T* wt, T* img) {
  for (int64_t ki = 0; ki < g.kH; ++ki) {
    const int64_t off_h = ki * g.dil_h - g.pad_h;
    const PlacementRange rows = valid_placements(off_h, g.stride_h, g.H, g.Ho);
    for (int64_t kj = 0; kj < g.kW; ++kj) {
      const int64_t off_w = kj * g.dil_w - g.pad_w;
      const PlacementRange cols = valid_placements(off_w, g.stride_w, g.W, g.Wo);
      const T w = wt[ki * g.kW + kj];
      for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
        T* d = img + (oh * g.stride_h + off_h) * g.W;
        const T* s = col + oh * g.Wo;
        for (int64_t ow = cols.lo; ow < cols.hi; ++ow) d[ow * g.stride_w + off_w] += w * s[ow];
      }
    }
  }
}

}  // namespace

template <class T>
void depthwise_forward(const ConvProblem& g, const T* img, const T* w, const T* bias, T* col) {
  const int64_t C = g.col_channels, multiplier = g.col_group(), P = g.Ho * g.Wo, taps = g.kH * g.kW;
  const Gather gather = forward_gather(g);
#pragma omp parallel for collapse(2) schedule(static) if (run_parallel(g))
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      T* out = col + (n * C + c) * P;
      const T* in = img + (n * g.groups + c / multiplier) * g.H * g.W;
      if (bias != nullptr) std::fill(out, out + P, bias[c]);
      gather_plane(gather, in, w + c * taps, out, bias != nullptr);
    }
}

template <class T>
void depthwise_backward_data(const ConvProblem& g, const T* col, const T* w, T* img) {
  const int64_t C = g.col_channels, multiplier = g.col_group(), P = g.Ho * g.Wo, taps = g.kH * g.kW;
  const bool unit_stride = g.stride_h == 1 && g.stride_w == 1;
  const Gather gather = flipped_gather(g);
#pragma omp parallel for collapse(2) schedule(static) if (run_parallel(g))
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      T* dst = img + (n * g.groups + gi) * g.H * g.W;
      if (!unit_stride) std::fill(dst, dst + g.H * g.W, T(0));
      for (int64_t m = 0; m < multiplier; ++m) {
        const int64_t c = gi * multiplier + m;
        const T* in = col + (n * C + c) * P;
        if (!unit_stride) {
          scatter_plane(g, in, w + c * taps, dst);
          continue;
        }
        T* flipped = thread_buffer<T>(1, taps);
        std::reverse_copy(w + c * taps, w + (c + 1) * taps, flipped);
        gather_plane(gather, in, flipped, dst, m > 0);
      }
    }
}

template <class T>
void depthwise_backward_weight(const ConvProblem& g, const T* img, const T* col, T* dw) {
  const int64_t C = g.col_channels, multiplier = g.col_group(), P = g.Ho * g.Wo, taps = g.kH * g.kW;
  const Gather gather = forward_gather(g);
  const int64_t cols = gather.padded_cols(), out_cols = round_up(g.Wo, kVec);
#pragma omp parallel for schedule(static) if (run_parallel(g))
  for (int64_t c = 0; c < C; ++c) {
    // Per tap, kRows x kVec partial sums kept across the batch (in T: each lane sums only
    // N * Ho * Wo / (kRows * kVec) products), reduced once in double at the end.
    const int64_t tile = kRows * kVec;
    T* partial = thread_buffer<T>(1, taps * tile);
    std::fill(partial, partial + taps * tile, T(0));
    T* buf = thread_buffer<T>(0, gather.padded_rows() * cols);
    const int64_t out_rows = gather.tiled_out_rows();
    T* grad = thread_buffer<T>(2, out_rows * out_cols);  // col plane, zero-padded to whole tiles
    for (int64_t n = 0; n < g.N; ++n) {
      fill_padded(gather, img + (n * g.groups + c / multiplier) * g.H * g.W, buf);
      const T* gp = col + (n * C + c) * P;
      std::fill(grad, grad + out_rows * out_cols, T(0));
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        std::copy(gp + oh * g.Wo, gp + (oh + 1) * g.Wo, grad + oh * out_cols);
      for (int64_t ki = 0; ki < g.kH; ++ki)
        for (int64_t kj = 0; kj < g.kW; ++kj) {
          T* acc = partial + (ki * g.kW + kj) * tile;
          for (int64_t oh0 = 0; oh0 < out_rows; oh0 += kRows)
            for (int64_t ow0 = 0; ow0 < out_cols; ow0 += kVec)
              for (int64_t r = 0; r < kRows; ++r) {
                const T* src = buf + ((oh0 + r) * g.stride_h + ki * g.dil_h) * cols + kj * g.dil_w;
                const T* d = grad + (oh0 + r) * out_cols + ow0;
                T* a = acc + r * kVec;
                if (g.stride_w == 1) {
#pragma omp simd
                  for (int64_t j = 0; j < kVec; ++j) a[j] += d[j] * src[ow0 + j];
                } else {
#pragma omp simd
                  for (int64_t j = 0; j < kVec; ++j) a[j] += d[j] * src[(ow0 + j) * g.stride_w];
                }
              }
        }
    }
    for (int64_t t = 0; t < taps; ++t) {
      double total = 0;
      for (int64_t i = 0; i < tile; ++i) total += double(partial[t * tile + i]);
      dw[c * taps + t] = T(total);
    }
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
