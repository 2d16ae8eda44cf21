#pragma once
// The convolution problem both backends solve, lowered once. conv2d and conv_transpose2d are
// each other's adjoints, so both are one "lowered" problem: an image side (the tensor a kernel
// placement reads, C = img_channels over H x W) and a column side (one value per placement,
// C = col_channels over Ho x Wo), with the weight laid out (col_channels, img_channels/groups,
// kH, kW) in both cases:
//
//   op                image side     column side    weight (col, img/groups, kH, kW)
//   conv2d            x (input)      y (output)     w (C_out, C_in/groups, kH, kW)
//   conv_transpose2d  y (output)     x (input)      w (C_in, C_out/groups, kH, kW)
//
// Every kernel of both backends speaks the lowered language (kernels/cpu/conv.hpp,
// kernels/cuda/conv.hpp): forward (image -> columns), backward-data (columns -> image) and
// backward-weight. conv2d's forward is the lowered forward, its backward-data the lowered
// backward-data; the transposed convolution swaps the two, and its weight gradient is the
// lowered one with (image, column) = (output gradient, input). The engine op
// (engine/src/ops_conv.cpp) builds the problem once with lower() and hands it to the kernels of
// the tensor's device. Ho and Wo are the placements, not derived from H and W, so
// conv_transpose2d's output_padding (image rows no placement reaches) needs nothing special.
//
// Plain C++ (also compiled by nvcc as C++17): the CUDA kernels use a narrowed copy
// (BasicConvProblem<int>) and its SDKD_HD helpers on the device.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/internal.hpp"
#include "sdkd/error.hpp"
#include "sdkd/host_device.hpp"

namespace sdkd::kern {

namespace conv_detail {

// The checks conv2d and conv_transpose2d share; `op` names the op in the message.
inline void check_common(const char* op, int64_t N, int64_t C_in, int64_t C_out, int64_t H, int64_t W, int64_t kH,
                         int64_t kW, int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
  SDKD_CHECK(N >= 0, op, ": batch N must be >= 0, got ", N);
  SDKD_CHECK(C_in >= 1 && C_out >= 1, op, ": channels must be >= 1, got C_in=", C_in, " C_out=", C_out);
  SDKD_CHECK(H >= 1 && W >= 1, op, ": input size must be >= 1, got H=", H, " W=", W);
  SDKD_CHECK(kH >= 1 && kW >= 1, op, ": kernel size must be >= 1, got ", kH, "x", kW);
  SDKD_CHECK(sh >= 1 && sw >= 1, op, ": stride must be >= 1, got ", sh, "x", sw);
  SDKD_CHECK(ph >= 0 && pw >= 0, op, ": padding must be >= 0, got ", ph, "x", pw);
  SDKD_CHECK(dh >= 1 && dw >= 1, op, ": dilation must be >= 1, got ", dh, "x", dw);
  SDKD_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  SDKD_CHECK(C_in % groups == 0, op, ": C_in=", C_in, " is not divisible by groups=", groups);
  SDKD_CHECK(C_out % groups == 0, op, ": C_out=", C_out, " is not divisible by groups=", groups);
}

}  // namespace conv_detail

// conv2d, NCHW, PyTorch semantics: x (N, C_in, H, W), w (C_out, C_in/groups, kH, kW),
// y (N, C_out, H_out, W_out), H_out = (H + 2*pad_h - dil_h*(kH-1) - 1) / stride_h + 1.
struct Conv2dParams {
  int64_t N = 1, C_in = 1, H = 1, W = 1, C_out = 1, kH = 1, kW = 1;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;

  int64_t H_out() const { return (H + 2 * int64_t(pad_h) - int64_t(dil_h) * (kH - 1) - 1) / stride_h + 1; }
  int64_t W_out() const { return (W + 2 * int64_t(pad_w) - int64_t(dil_w) * (kW - 1) - 1) / stride_w + 1; }

  // Throws sdkd::Error naming the bad parameter.
  void validate() const {
    conv_detail::check_common("conv2d", N, C_in, C_out, H, W, kH, kW, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                              groups);
    // Compare before dividing: C++ division truncates toward zero, which would round a
    // slightly negative span up to an output of size 1.
    const int64_t span_h = H + 2 * int64_t(pad_h) - int64_t(dil_h) * (kH - 1);
    const int64_t span_w = W + 2 * int64_t(pad_w) - int64_t(dil_w) * (kW - 1);
    SDKD_CHECK(span_h >= 1 && span_w >= 1, "conv2d: output size would be < 1: input ", H, "x", W, " + 2*padding ",
               pad_h, "x", pad_w, " is smaller than the dilated kernel ", int64_t(dil_h) * (kH - 1) + 1, "x",
               int64_t(dil_w) * (kW - 1) + 1);
  }
};

// conv_transpose2d: x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW), y (N, C_out, H_out,
// W_out), H_out = (H-1)*stride_h - 2*pad_h + dil_h*(kH-1) + output_padding_h + 1.
struct ConvT2dParams {
  int64_t N = 1, C_in = 1, H = 1, W = 1, C_out = 1, kH = 1, kW = 1;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int output_padding_h = 0, output_padding_w = 0;  // < stride or < dilation, as in PyTorch
  int dil_h = 1, dil_w = 1, groups = 1;

  int64_t H_out() const {
    return (H - 1) * stride_h - 2 * int64_t(pad_h) + int64_t(dil_h) * (kH - 1) + output_padding_h + 1;
  }
  int64_t W_out() const {
    return (W - 1) * stride_w - 2 * int64_t(pad_w) + int64_t(dil_w) * (kW - 1) + output_padding_w + 1;
  }

  // Throws sdkd::Error naming the bad parameter.
  void validate() const {
    conv_detail::check_common("conv_transpose2d", N, C_in, C_out, H, W, kH, kW, stride_h, stride_w, pad_h, pad_w,
                              dil_h, dil_w, groups);
    SDKD_CHECK(output_padding_h >= 0 && output_padding_w >= 0, "conv_transpose2d: output_padding must be >= 0, got ",
               output_padding_h, "x", output_padding_w);
    SDKD_CHECK(output_padding_h < std::max(stride_h, dil_h) && output_padding_w < std::max(stride_w, dil_w),
               "conv_transpose2d: output_padding ", output_padding_h, "x", output_padding_w,
               " must be smaller than stride ", stride_h, "x", stride_w, " or dilation ", dil_h, "x", dil_w);
    SDKD_CHECK(H_out() >= 1 && W_out() >= 1, "conv_transpose2d: output size would be ", H_out(), "x", W_out(),
               " (< 1): padding ", pad_h, "x", pad_w, " is too large");
  }
};

// The lowered problem (see the top of this file). Index is int64_t for the CPU kernels and the
// engine (ConvProblem), int for the CUDA kernels, which index with int (narrow<int>() after
// the engine checked fits_int()).
template <class Index>
struct BasicConvProblem {
  Index N = 1, groups = 1;
  Index img_channels = 1, H = 1, W = 1;    // image side, all groups
  Index col_channels = 1, Ho = 1, Wo = 1;  // column side: the kernel placements
  Index kH = 1, kW = 1;
  Index stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;

  SDKD_HD Index img_group() const { return img_channels / groups; }  // image channels per group
  SDKD_HD Index col_group() const { return col_channels / groups; }  // column channels per group
  SDKD_HD Index img_plane() const { return H * W; }
  SDKD_HD Index col_plane() const { return Ho * Wo; }
  SDKD_HD Index taps() const { return kH * kW; }
  // The GEMM depth per group: rows of the im2col matrix, (image channel, ki, kj).
  SDKD_HD Index k_group() const { return img_group() * kH * kW; }
  SDKD_HD Index weight_group() const { return col_group() * k_group(); }

  int64_t img_numel() const { return int64_t(N) * img_channels * H * W; }
  int64_t col_numel() const { return int64_t(N) * col_channels * Ho * Wo; }
  int64_t weight_numel() const { return int64_t(col_channels) * img_group() * kH * kW; }
  // The largest of the three tensors: the CUDA kernels need it below 2^31 elements.
  int64_t largest_numel() const { return std::max({img_numel(), col_numel(), weight_numel()}); }
  bool fits_int() const { return largest_numel() <= INT_MAX; }

  template <class To>
  BasicConvProblem<To> narrow() const {
    BasicConvProblem<To> p;
    p.N = To(N), p.groups = To(groups);
    p.img_channels = To(img_channels), p.H = To(H), p.W = To(W);
    p.col_channels = To(col_channels), p.Ho = To(Ho), p.Wo = To(Wo);
    p.kH = To(kH), p.kW = To(kW);
    p.stride_h = To(stride_h), p.stride_w = To(stride_w), p.pad_h = To(pad_h), p.pad_w = To(pad_w);
    p.dil_h = To(dil_h), p.dil_w = To(dil_w);
    return p;
  }
};

using ConvProblem = BasicConvProblem<int64_t>;

namespace conv_detail {

// The lowered problem with the op's spatial hyper-parameters; the sides are set by lower().
template <class P>
ConvProblem with_kernel(const P& p) {
  ConvProblem q;
  q.N = p.N, q.groups = p.groups, q.kH = p.kH, q.kW = p.kW;
  q.stride_h = p.stride_h, q.stride_w = p.stride_w, q.pad_h = p.pad_h, q.pad_w = p.pad_w;
  q.dil_h = p.dil_h, q.dil_w = p.dil_w;
  return q;
}

}  // namespace conv_detail

// conv2d's own geometry is the lowered problem. Validates p first (throws sdkd::Error), so a
// problem made by lower() is always consistent.
inline ConvProblem lower(const Conv2dParams& p) {
  p.validate();
  ConvProblem q = conv_detail::with_kernel(p);
  q.img_channels = p.C_in, q.H = p.H, q.W = p.W;
  q.col_channels = p.C_out, q.Ho = p.H_out(), q.Wo = p.W_out();
  return q;
}

// The transposed convolution's output (output_padding included) is the image side, its input
// the column side; its weight is already in the lowered layout.
inline ConvProblem lower(const ConvT2dParams& p) {
  p.validate();
  ConvProblem q = conv_detail::with_kernel(p);
  q.img_channels = p.C_out, q.H = p.H_out(), q.W = p.W_out();
  q.col_channels = p.C_in, q.Ho = p.H, q.Wo = p.W;
  return q;
}

}  // namespace sdkd::kern
