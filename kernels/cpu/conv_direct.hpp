#pragma once
// Direct convolution of the lowered problem (kernels/common/conv_problem.hpp) with no im2col
// matrix: each image's source planes are copied once into a zero-padded buffer
// (conv_padded.hpp; the forward's in bands of rows that stay in L1), and a register tile of
// (output channels) x (output vectors along the width) accumulates over the kernel taps, each
// tap one unaligned load per vector and one broadcast weight per channel. Any stride, padding, dilation and group count is correct;
// conv.cpp's rule sends a problem here where the tap count per output (k_group()) is small or
// the groups are depthwise, which is where im2col + GEMM spends its time copying
// (docs/KERNELS.md, "CPU convolution: which kernel runs").
//
// Same signatures and contract as kernels/cpu/conv.hpp: every function OVERWRITES its output;
// biases may be null. Every output element (and every image's weight-gradient contribution) is
// computed by one thread in a fixed order, and the weight gradient sums the images' double
// partials in image order, so results are bitwise the same for any thread count.
#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

// col = conv(img) + col_bias.
template <class T>
void direct_forward(const kern::ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col);

// img = adjoint of the forward applied to col, + img_bias (one per image channel).
template <class T>
void direct_backward_data(const kern::ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img);

// dw = sum over the batch and the placements of col * im2col(img)^T.
template <class T>
void direct_backward_weight(const kern::ConvProblem& p, const T* img, const T* col, T* dw);

}  // namespace sdkd::cpu
