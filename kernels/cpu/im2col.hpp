#pragma once
// Lowering of a 2-D convolution to a matrix product, one image and one group at a time, for
// the lowered problem of kernels/common/conv_problem.hpp. The image is the group's
// img_group() x H x W channels, the columns the Ho x Wo grid of kernel placements; the column
// matrix has one row per (channel, ki, kj) (k_group() rows) and one column per placement:
//   col[(c*kH + ki)*kW + kj][oh*Wo + ow] = img[c][oh*sh - ph + ki*dh][ow*sw - pw + kj*dw]
// (zero outside the image). Ho and Wo are the problem's, not derived from H and W, so the same
// code serves conv-transpose, whose output_padding makes the image larger than the placements
// cover.
#include <cstdint>

#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

using kern::ConvProblem;

// Placements o in [lo, hi) (of `count`) read an in-range input index o*stride + offset of an
// axis of length `size`; those outside read zero padding.
struct PlacementRange {
  int64_t lo, hi;
};
inline PlacementRange valid_placements(int64_t offset, int64_t stride, int64_t size,
                                       int64_t count) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t last = size - 1 - offset;  // o*stride <= last
  const int64_t hi = last < 0 ? 0 : (last / stride + 1 < count ? last / stride + 1 : count);
  return {lo < hi ? lo : hi, hi};
}

// The band of placement rows [oh_begin, oh_end) of im2col(img): col is
// k_group() x ((oh_end - oh_begin) * Wo), row-major and dense. Working band by band keeps the
// column matrix in cache between its creation and the GEMM that reads it.
template <class T>
void im2col(const ConvProblem& g, const T* img, T* col, int64_t oh_begin, int64_t oh_end);

// img += the adjoint of im2col applied to a band `col` of placement rows [oh_begin, oh_end),
// summing overlapping placements.
template <class T>
void col2im_add(const ConvProblem& g, const T* col, T* img, int64_t oh_begin, int64_t oh_end);

}  // namespace sdkd::cpu
