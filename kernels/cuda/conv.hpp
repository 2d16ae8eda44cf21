#pragma once
// 2-D convolution on the GPU (NCHW, float32) as implicit GEMM: the im2col matrix is never
// stored; each GEMM tile gathers its operand from the image while loading shared memory.
//
// Every entry point takes the lowered problem of kernels/common/conv_problem.hpp (the CPU
// kernels of kernels/cpu/conv.hpp take the same one, with the same signatures): an image side
// img (N, img_channels, H, W), a column side col (N, col_channels, Ho, Wo) and a weight
// (col_channels, img_channels/groups, kH, kW). conv_transpose2d is the adjoint and uses the
// same three kernels (its output is the image side, its input the column side):
//   conv2d_forward            conv2d forward           convT backward-data
//   conv2d_backward_data      conv2d backward-data     convT forward (bias on the image side)
//   conv2d_backward_weight    conv2d: (img, col) = (x, dy)   convT: (dy, x)
// Groups with one image-side channel (depthwise, also img_channels = 1) take direct kernels
// (conv_depthwise.cu) instead of a GEMM whose depth would be kH*kW.
//
// The kernels index with int: the caller checks ConvProblem::fits_int() once, where it lowers
// the op (every tensor of the problem below 2^31 elements). Every kernel OVERWRITES its output
// (no accumulation, as on the CPU). Pointers are device pointers; every launch goes on the
// stream of `ctx`, scratch memory comes from its caching allocator (gpu::Workspace), and the
// weight gradient's reduction order follows ctx.deterministic. Plain C++ (no CUDA types): the
// engine includes it.
#include <cstdint>

#include "kernels/common/conv_problem.hpp"
#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

using kern::ConvProblem;

// col = conv(img) + col_bias (over col_channels, may be null).
void conv2d_forward(const ExecContext& ctx, const ConvProblem& p, const float* img, const float* w,
                    const float* col_bias, float* col);

// img = the adjoint of conv2d_forward applied to col, + img_bias (over img_channels, may be
// null: the transposed convolution's forward adds its bias here). Each image pixel gathers only
// the placements that reach it (stride > 1 is split into stride_h*stride_w residue classes, so
// no multiply is spent on taps that cannot contribute); no atomics.
void conv2d_backward_data(const ExecContext& ctx, const ConvProblem& p, const float* col, const float* w,
                          const float* img_bias, float* img);

// dw = sum over the batch and the placements of col * im2col(img)^T. The reduction may be split
// over blocks: with ctx.deterministic false the splits are added with atomics, otherwise each
// split writes its partial sums to launch-local scratch and a second kernel adds them in split
// order.
void conv2d_backward_weight(const ExecContext& ctx, const ConvProblem& p, const float* img, const float* col,
                            float* dw);

// db[c] = sum over n and the plane of dy[n][c]; a fixed-order tree per channel (deterministic).
void conv_bias_backward(const ExecContext& ctx, const float* dy, int N, int C, int plane, float* db);

// ---- shared by conv.cu and conv_depthwise.cu (the entry points above call these) ----

// The problem as the kernels index it (int), narrowed from a problem that fits_int().
using DeviceConvProblem = kern::BasicConvProblem<int>;

// The direct depthwise kernels (conv_depthwise.cu); the weight gradient is always deterministic.
void depthwise_forward(const ExecContext& ctx, const DeviceConvProblem& g, const float* img, const float* w,
                       const float* bias, float* col);
void depthwise_backward_data(const ExecContext& ctx, const DeviceConvProblem& g, const float* col, const float* w,
                             const float* bias_in, float* img);
void depthwise_backward_weight(const ExecContext& ctx, const DeviceConvProblem& g, const float* img,
                               const float* col, float* dw);

// out[i] = sum over s < splits of parts[s*size + i], added in split order.
void conv_sum_splits(const ExecContext& ctx, const float* parts, int splits, int size, float* out);

}  // namespace sdkd::gpu
