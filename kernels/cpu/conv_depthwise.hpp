#pragma once
// Direct loops for a lowered convolution whose groups each have ONE image-side channel
// (depthwise conv2d, optionally with a channel multiplier, and its transpose). There the
// im2col + GEMM route degenerates into a 1-row GEMM per channel and spends its time copying;
// these loops read each input row once per kernel tap instead.
//
// Layouts follow conv.cpp's lowering: img (N, groups, H, W), col (N, groups * multiplier, Ho, Wo),
// w (groups * multiplier, 1, kH, kW); geometry.channels must be 1.
#include <cstdint>

#include "kernels/internal.hpp"
#include "kernels/cpu/im2col.hpp"

namespace sdkd::cpu {

struct DepthwiseShape {
  int64_t N, groups, multiplier;
  ConvGeometry geo;
};

// col = conv(img) (+ bias per col channel; bias may be null). Overwrites col.
template <class T>
void depthwise_forward(const DepthwiseShape& s, const T* img, const T* w, const T* bias, T* col);

// img = adjoint of depthwise_forward applied to col. Overwrites img.
template <class T>
void depthwise_backward_data(const DepthwiseShape& s, const T* col, const T* w, T* img);

// dw += gradient of <col, conv(img)> in w. Summed per channel in a fixed order (independent of
// the thread count).
template <class T>
void depthwise_backward_weight(const DepthwiseShape& s, const T* img, const T* col, T* dw);

}  // namespace sdkd::cpu
