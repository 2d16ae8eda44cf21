// The CPU convolution entry points: the rule that picks a kernel per problem and pass
// (docs/KERNELS.md, "CPU convolution: which kernel runs"), and the bias reductions.
#include "kernels/cpu/conv.hpp"

#include <omp.h>

#include <initializer_list>

#include "kernels/cpu/conv_depthwise.hpp"
#include "kernels/cpu/conv_direct.hpp"
#include "kernels/cpu/conv_gemm.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {

namespace {

// Where the direct loops stop (docs/KERNELS.md, "CPU convolution: which kernel runs"). They
// beat im2col + GEMM on every 3x3 / 4x4 shape of the models measured, forward and data
// gradient, up to 256 channels (2304 taps per output), by 1.2-4x; beyond that they are
// unmeasured. Their weight gradient keeps one vector of lane sums per weight in cache across a
// pass; past 64 x 576 weights per group (2.25 MiB of sums) GEMM wins (by 1.9x at 128 x 1152,
// 3.4x at 256 x 2304 on 16 x 16 planes).
constexpr int64_t kDirectMaxDepth = 2304;
constexpr int64_t kDirectMaxWeights = 64 * 576;

// Taps summed per output of backward-data: each residue class of the stride sees about
// kH/stride_h x kW/stride_w taps of every column channel.
int64_t backward_data_depth(const ConvProblem& p) {
  return p.col_group() * ((p.kH + p.stride_h - 1) / p.stride_h) * ((p.kW + p.stride_w - 1) / p.stride_w);
}

// The direct loops copy one image's source planes (a group's) into a padded buffer per
// thread; beyond kDirectMaxBuffer elements (very large images) im2col's bands of rows use less.
constexpr int64_t kDirectMaxBuffer = int64_t(1) << 23;
int64_t padded_source(int64_t channels, int64_t H, int64_t W, const ConvProblem& p) {
  return channels * (H + 2 * p.pad_h + p.kH * p.dil_h) * (W + 2 * p.pad_w + p.kW * p.dil_w + 16);
}

bool direct_suits(const ConvProblem& p, ConvPass pass) {
  const bool data = pass == ConvPass::backward_data;
  if ((data ? padded_source(p.col_group(), p.Ho, p.Wo, p) : padded_source(p.img_group(), p.H, p.W, p)) >
      kDirectMaxBuffer)
    return false;
  switch (pass) {
    case ConvPass::forward: return p.k_group() <= kDirectMaxDepth;
    case ConvPass::backward_data: return backward_data_depth(p) <= kDirectMaxDepth;
    case ConvPass::backward_weight: return p.weight_group() <= kDirectMaxWeights;
  }
  return false;
}

}  // namespace

ConvKernel conv_kernel(const ConvProblem& p, ConvPass pass) {
  // One image channel and one column channel per group: the depthwise loops. With a channel
  // multiplier (e.g. a 1 -> 16 channel conv) the direct loops' channel tiles share each load.
  if (p.img_group() == 1 && p.col_group() == 1) return ConvKernel::depthwise;
  // A pointwise problem is one GEMM per image (also the readout's data gradient, an outer
  // product with one column channel: it runs at the STREAM bandwidth as it is).
  if (gemm_is_pointwise(p)) return ConvKernel::pointwise_gemm;
  if (direct_suits(p, pass)) return ConvKernel::direct;
  return ConvKernel::im2col_gemm;
}

const char* conv_kernel_name(ConvKernel k) {
  switch (k) {
    case ConvKernel::depthwise: return "depthwise";
    case ConvKernel::direct: return "direct";
    case ConvKernel::pointwise_gemm: return "pointwise GEMM";
    case ConvKernel::im2col_gemm: return "im2col + GEMM";
  }
  return "?";
}

namespace {

// One channel per iteration, summed in double in an order fixed at compile time, so the result
// does not depend on the thread count.
template <class T>
void bias_sums(const T* dy, int64_t N, int64_t C, int64_t plane, T* db) {
#pragma omp parallel for schedule(static) if (N * C * plane >= (1 << 18) && threads_pay_bytes(8.0 * double(N * C * plane)))
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* row = dy + (n * C + c) * plane;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < plane; ++i) s += double(row[i]);
    }
    db[c] = T(s);
  }
}

template <class T>
void add_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t plane) {
#pragma omp parallel for collapse(2) \
    schedule(static) if (N * C * plane >= (1 << 18) && threads_pay_bytes(8.0 * double(N * C * plane)))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      T* row = y + (n * C + c) * plane;
      for (int64_t i = 0; i < plane; ++i) row[i] += bias[c];
    }
}

// The batch's tensors must exist unless the batch is empty.
void check_pointers(const char* op, int64_t N, std::initializer_list<const void*> required) {
  if (N == 0) return;
  for (const void* ptr : required)
    SDKD_CHECK(ptr != nullptr, op, ": a required input or output pointer is null");
}

// A parameter gradient is written even for an empty batch (zeros), so it must always exist.
void check_gradient(const char* op, const void* grad) {
  SDKD_CHECK(grad != nullptr, op, ": the gradient output pointer is null");
}

}  // namespace

template <class T>
void conv2d_forward(const ConvProblem& p, const T* img, const T* w, const T* col_bias, T* col) {
  check_pointers("conv2d_forward", p.N, {img, w, col});
  switch (conv_kernel(p, ConvPass::forward)) {
    case ConvKernel::depthwise: return depthwise_forward(p, img, w, col_bias, col);
    case ConvKernel::direct: return direct_forward(p, img, w, col_bias, col);
    default: return gemm_forward(p, img, w, col_bias, col);
  }
}

template <class T>
void conv2d_backward_data(const ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img) {
  check_pointers("conv2d_backward_data", p.N, {col, w, img});
  switch (conv_kernel(p, ConvPass::backward_data)) {
    case ConvKernel::direct: return direct_backward_data(p, col, w, img_bias, img);
    case ConvKernel::depthwise: depthwise_backward_data(p, col, w, img); break;
    default: gemm_backward_data(p, col, w, img); break;
  }
  if (img_bias != nullptr) add_bias(img, img_bias, p.N, p.img_channels, p.img_plane());
}

template <class T>
void conv2d_backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw) {
  check_pointers("conv2d_backward_weight", p.N, {img, col});
  check_gradient("conv2d_backward_weight", dw);
  switch (conv_kernel(p, ConvPass::backward_weight)) {
    case ConvKernel::depthwise: return depthwise_backward_weight(p, img, col, dw);
    case ConvKernel::direct: return direct_backward_weight(p, img, col, dw);
    default: return gemm_backward_weight(p, img, col, dw);
  }
}

template <class T>
void conv_bias_backward(const T* dy, int64_t N, int64_t C, int64_t plane, T* db) {
  check_pointers("conv_bias_backward", N, {dy});
  if (C > 0) check_gradient("conv_bias_backward", db);
  bias_sums(dy, N, C, plane, db);
}

#define SDKD_INSTANTIATE_CONV(T)                                                                   \
  template void conv2d_forward<T>(const ConvProblem&, const T*, const T*, const T*, T*);        \
  template void conv2d_backward_data<T>(const ConvProblem&, const T*, const T*, const T*, T*);  \
  template void conv2d_backward_weight<T>(const ConvProblem&, const T*, const T*, T*);          \
  template void conv_bias_backward<T>(const T*, int64_t, int64_t, int64_t, T*);
SDKD_INSTANTIATE_CONV(float)
SDKD_INSTANTIATE_CONV(double)
#undef SDKD_INSTANTIATE_CONV

}  // namespace sdkd::cpu
