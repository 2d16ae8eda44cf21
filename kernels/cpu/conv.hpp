#pragma once
// 2-D convolution on the CPU (NCHW, float and double) over the lowered problem of
// kernels/common/conv_problem.hpp: conv2d and conv_transpose2d are both described by one
// ConvProblem (image side, column side, weight (col_channels, img_channels/groups, kH, kW)),
// and these three kernels serve both ops in both directions, as the CUDA kernels of
// kernels/cuda/conv.hpp do with the same signatures:
//   conv2d_forward          col = conv(img)        conv forward,  convT backward-data
//   conv2d_backward_data    img = adjoint(col)     conv bwd-data, convT forward
//   conv2d_backward_weight  dw from (img, col)     conv: (x, dy), convT: (dy, x)
// Build the problem with kern::lower(), which validates the op's parameters.
//
// Every kernel OVERWRITES its output (y, dx, dw, db): none reads what the output held, so the
// caller need not clear it, and parameter gradients add up in the autograd engine, not here.
// Bias pointers may be null. Work is parallel over the batch (OpenMP) with per-thread buffers;
// weight gradients are summed per thread and then in thread order, so results depend on the
// thread count only, never on scheduling. Null pointers for a non-empty batch throw
// sdkd::Error.
#include <cstdint>

#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

using kern::ConvProblem;

// col = conv(img) + col_bias (one value per column channel; may be null).
template <class T>
void conv2d_forward(const ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col);

// img = the adjoint of conv2d_forward applied to col, + img_bias (one value per image channel,
// may be null: the transposed convolution's forward adds its bias here).
template <class T>
void conv2d_backward_data(const ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img);

// dw = sum over the batch and the placements of col * im2col(img)^T.
template <class T>
void conv2d_backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw);

// db[c] = sum over n and the plane of dy[n][c] (dy: N x C planes of `plane` elements), summed in
// double in an order that does not depend on the thread count.
template <class T>
void conv_bias_backward(const T* dy, int64_t N, int64_t C, int64_t plane, T* db);

}  // namespace sdkd::cpu
