#pragma once
// 2-D convolution and transposed convolution on the CPU, NCHW, PyTorch semantics.
//
// conv2d:            x (N, C_in, H, W), w (C_out, C_in/groups, kH, kW), y (N, C_out, H_out, W_out)
//                    H_out = (H + 2*pad_h - dil_h*(kH-1) - 1) / stride_h + 1
// conv_transpose2d:  x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW), y (N, C_out, H_out, W_out)
//                    H_out = (H-1)*stride_h - 2*pad_h + dil_h*(kH-1) + output_padding_h + 1
// conv_transpose2d is the adjoint of conv2d in x: its forward is conv2d's backward-data with
// the same weight, and the other way round.
//
// Forward and backward-data overwrite their output; backward-weight ACCUMULATES into dw and
// dbias (parameter gradients add up over uses). Bias pointers may be null. Work is parallel over
// the batch (OpenMP) with per-thread buffers; weight gradients are summed per thread and then
// in thread order, so results depend on the thread count only, never on scheduling.
// Every entry point checks its parameters and throws sdkd::Error naming the bad one.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

struct Conv2dParams {
  int64_t N = 1, C_in = 1, H = 1, W = 1, C_out = 1, kH = 1, kW = 1;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;

  int64_t H_out() const;
  int64_t W_out() const;
  void validate() const;  // throws sdkd::Error
};

struct ConvT2dParams {
  int64_t N = 1, C_in = 1, H = 1, W = 1, C_out = 1, kH = 1, kW = 1;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int output_padding_h = 0, output_padding_w = 0;  // < stride or < dilation, as in PyTorch
  int dil_h = 1, dil_w = 1, groups = 1;

  int64_t H_out() const;
  int64_t W_out() const;
  void validate() const;  // throws sdkd::Error
};

template <class T>
void conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <class T>
void conv2d_backward_data(const Conv2dParams& p, const T* dy, const T* w, T* dx);
template <class T>
void conv2d_backward_weight(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* dbias);

template <class T>
void conv_transpose2d_forward(const ConvT2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <class T>
void conv_transpose2d_backward_data(const ConvT2dParams& p, const T* dy, const T* w, T* dx);
template <class T>
void conv_transpose2d_backward_weight(const ConvT2dParams& p, const T* x, const T* dy, T* dw,
                                      T* dbias);

}  // namespace sdkd::cpu
