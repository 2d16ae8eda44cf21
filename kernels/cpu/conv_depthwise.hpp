#pragma once
// Depthwise convolution of the lowered problem (kernels/common/conv_problem.hpp): groups with
// ONE image-side channel each (depthwise conv2d, optionally with a channel multiplier
// col_group(), and its transpose). There im2col + GEMM degenerates into a 1-row GEMM per
// channel and spends its time copying. Stride-1 problems whose kernel height and dilation have
// a tiled kernel (conv_depthwise.cpp) run it; the rest, and the weight gradient, run the
// general direct loops of conv_direct.hpp.
//
// Layouts follow the lowering: img (N, groups, H, W), col (N, col_channels, Ho, Wo),
// w (col_channels, 1, kH, kW); p.img_group() must be 1. Like every conv kernel
// (kernels/cpu/conv.hpp) each OVERWRITES its output; every output element is computed by one
// thread in a fixed order, so no result depends on the thread count.
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

// dw = gradient of <col, conv(img)> in w, summed in a fixed order (independent of the thread
// count).
template <class T>
void depthwise_backward_weight(const kern::ConvProblem& p, const T* img, const T* col, T* dw);

}  // namespace sdkd::cpu
