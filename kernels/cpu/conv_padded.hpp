#pragma once
// The zero-padded copy of source planes that the direct convolution loops read
// (conv_direct.cpp). With the padding in the copy, every kernel tap of every output vector is
// an unconditional load at a fixed offset; the copy costs one pass over the source, against
// im2col's one pass per kernel tap.
//
// Stride along the width is handled by splitting each padded row into `phases` interleaved
// lanes: padded column c = j * phases + p is stored at [p][j], so the outputs ow, ow+1, ... of a
// tap read consecutive elements even when the convolution's stride is 2.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

// buf[ch][r][p][j] = src[ch][r + off_h][j * phases + p + off_w], zero where that is outside the
// src_H x src_W source plane.
struct PaddedLayout {
  int64_t src_H = 1, src_W = 1;
  int64_t off_h = 0, off_w = 0;
  int64_t rows = 1, phases = 1, lane_len = 1;

  int64_t row_pitch() const { return phases * lane_len; }
  int64_t channel_pitch() const { return rows * row_pitch(); }
  bool operator==(const PaddedLayout&) const = default;
};

// Fills `channels` padded planes from as many contiguous src_H x src_W source planes.
template <class T>
void fill_padded(const PaddedLayout& L, const T* src, int64_t channels, T* buf);

// `channels` padded planes of `src` in this thread's buffer (valid until the thread's next
// call). The kernels only read the buffer, so its zeros stay in place: when the previous call
// had the same layout and channel count, only the source's rows and columns are copied again
// (for stride 2, the lanes of both phases that read inside the row). A layout that differs only
// in off_h (the next band of rows of one plan, conv_direct_plan.hpp) is refilled the same way,
// with its rows outside the plane zeroed again.
// A depthwise 7x7 dilation-3 plane of 16 x 16 is three quarters border, and writing those
// zeros took longer than the taps.
template <class T>
const T* padded_source(const PaddedLayout& L, const T* src, int64_t channels);

}  // namespace sdkd::cpu
