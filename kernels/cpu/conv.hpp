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
// Bias pointers may be null. Work is parallel (OpenMP) with per-thread buffers; weight
// gradients are summed in a fixed order, so results depend at most on the thread count (the
// im2col + GEMM path's per-thread partials), never on scheduling; the direct and depthwise
// kernels give the same bits for any thread count. Null pointers for a non-empty batch throw
// sdkd::Error.
//
// Each call picks one of four kernels by conv_kernel() (docs/KERNELS.md, "CPU convolution:
// which kernel runs"): depthwise loops (conv_depthwise.hpp), direct register-tiled loops for
// few taps per output (conv_direct.hpp), one GEMM per image for a pointwise problem, or
// im2col + GEMM (conv_gemm.hpp).
#include <cstdint>

#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

using kern::ConvProblem;

enum class ConvKernel { depthwise, direct, pointwise_gemm, im2col_gemm };
enum class ConvPass { forward, backward_data, backward_weight };

// The kernel conv2d_forward / _backward_data / _backward_weight run for p.
ConvKernel conv_kernel(const ConvProblem& p, ConvPass pass);
const char* conv_kernel_name(ConvKernel k);

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
