#pragma once
// 2-D convolution on the GPU (NCHW, float32) as implicit GEMM: the im2col matrix is never
// stored; each GEMM tile gathers its operand from the image while loading shared memory.
//
// Every entry point speaks conv2d's language: an image side x (N, C_in, H, W), a column side
// y (N, C_out, H_out, W_out) and a weight (C_out, C_in/groups, kH, kW). conv_transpose2d is
// the adjoint and reuses the same three kernels with the geometry mapped (its output is the
// image side, its input the column side, its weight (C_in_T, C_out_T/groups, kH, kW) is
// already laid out as (col channels, img channels / groups, kH, kW)):
//   conv2d forward            = conv2d_forward              convT backward-data
//   conv2d backward-data      = conv2d_backward_data        convT forward (bias on C_in)
//   conv2d backward-weight    = conv2d_backward_weight(x, dy)   convT: (dy_T, x_T)
// Groups with one image-side channel (depthwise, also C_in = 1) take direct kernels
// (conv_depthwise.cu) instead of a GEMM whose depth would be kH*kW.
//
// Sizes are int: the caller checks that every tensor has fewer than 2^31 elements.
// Outputs are overwritten (no accumulation). Pointers are device pointers; every launch goes
// on cuda_rt::stream(). Plain C++ (no CUDA types): the engine includes it.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::gpu {

struct ConvGeom {
  int N = 1, C_in = 1, H = 1, W = 1;          // image side
  int C_out = 1, kH = 1, kW = 1;              // column side channels, kernel size
  int H_out = 1, W_out = 1;                   // column side size
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};

// True when the direct depthwise kernels handle this geometry (C_in / groups == 1).
bool conv_uses_depthwise(const ConvGeom& g);

// y = conv2d(x, w) + bias (bias over C_out, may be null).
void conv2d_forward(ConvGeom g, const float* x, const float* w, const float* bias, float* y);

// dx = conv2d_backward_data(dy, w) + bias_in (bias over C_in, may be null: the transposed
// convolution's forward adds its bias here). Each input pixel gathers only the output
// positions that reach it (stride > 1 is split into stride_h*stride_w residue classes, so no
// multiply is spent on taps that cannot contribute); no atomics.
void conv2d_backward_data(ConvGeom g, const float* dy, const float* w, const float* bias_in, float* dx);

// dw = sum over batch and output positions of dy * im2col(x). The reduction may be split over
// blocks: with `deterministic` false the splits are added with atomics, otherwise each split
// writes its partial sums to `workspace` and a second kernel adds them in split order.
// workspace must hold conv2d_backward_weight_workspace(g, deterministic) floats (0: null ok).
int64_t conv2d_backward_weight_workspace(ConvGeom g, bool deterministic);
void conv2d_backward_weight(ConvGeom g, const float* x, const float* dy, float* dw, float* workspace,
                            bool deterministic);

// db[c] = sum over n and the plane of dy[n][c]; a fixed-order tree per channel (deterministic).
void conv_bias_backward(const float* dy, int N, int C, int plane, float* db);

// The direct depthwise kernels (conv_depthwise.cu); called by the entry points above.
void depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
void depthwise_backward_data(const ConvGeom& g, const float* dy, const float* w, const float* bias_in,
                             float* dx);
int64_t depthwise_backward_weight_workspace(const ConvGeom& g);  // always deterministic
void depthwise_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw, float* workspace);

// Shared by conv.cu and conv_depthwise.cu: out[i] = sum over s < splits of parts[s*size + i],
// added in split order; and the current device's multiprocessor count (cached).
void conv_sum_splits(const float* parts, int splits, int size, float* out);
int conv_sm_count();

}  // namespace sdkd::gpu
