#pragma once
// Direct loops for a lowered convolution (kernels/common/conv_problem.hpp) whose groups each
// have ONE image-side channel (depthwise conv2d, optionally with a channel multiplier
// col_group(), and its transpose). There the im2col + GEMM route degenerates into a 1-row
// GEMM per channel and spends its time copying; these loops read each input row once per
// kernel tap instead.
//
// Layouts follow the lowering: img (N, groups, H, W), col (N, col_channels, Ho, Wo),
// w (col_channels, 1, kH, kW); p.img_group() must be 1. Like every conv kernel
// (kernels/cpu/conv.hpp) each OVERWRITES its output.
#include <cstdint>

#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

// col = conv(img) (+ bias per col channel; bias may be null).
template <class T>
void depthwise_forward(const kern::ConvProblem& p, const T* img, const T* w, const T* bias, T* col);

// img = adjoint of depthwise_forward applied to col.
template <class T>
void depthwise_backward_data(const kern::ConvProblem& p, const T* col, const T* w, T* img);

// dw = gradient of <col, conv(img)> in w. Summed per channel in a fixed order (independent of
// the thread count).
template <class T>
void depthwise_backward_weight(const kern::ConvProblem& p, const T* img, const T* col, T* dw);

}  // namespace sdkd::cpu
