#pragma once
// The lowered convolution (kernels/common/conv_problem.hpp) as matrix products, one image and
// group at a time:
//   forward:         col = W * im2col(img)       conv forward,   convT backward-data
//   backward-data:   img = col2im(W^T * col)     conv bwd-data,  convT forward
//   backward-weight: dW = col * im2col(img)^T    conv bwd-weight (img = x, col = dy),
//                                                convT bwd-weight (img = dy, col = x)
// A pointwise problem (1x1, stride 1, no padding: gemm_is_pointwise) needs no im2col or
// col2im at all: the image planes are the column matrix, so all three are one GEMM per image
// reading and writing the tensors in place. Correct for any problem; conv.cpp's rule picks it
// where the GEMM's depth (k_group()) is large enough to pay for the column matrix.
//
// Same contract as kernels/cpu/conv.hpp: outputs are OVERWRITTEN, biases may be null. The
// weight gradient sums per-thread partials in thread order (the result depends on the thread
// count, never on scheduling).
#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

bool gemm_is_pointwise(const kern::ConvProblem& p);

template <class T>
void gemm_forward(const kern::ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col);

// img = col2im(W^T * col) (no bias: conv.cpp adds it).
template <class T>
void gemm_backward_data(const kern::ConvProblem& p, const T* col, const T* w, T* img);

template <class T>
void gemm_backward_weight(const kern::ConvProblem& p, const T* img, const T* col, T* dw);

}  // namespace sdkd::cpu
