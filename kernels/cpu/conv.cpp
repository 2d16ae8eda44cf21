// conv2d and conv_transpose2d through im2col + GEMM. Both are described by one "lowered"
// problem: an image side (the tensor im2col reads) and a column side (one value per kernel
// placement), with the weight laid out (col_channels, img_channels / groups, kH, kW) in both
// cases. Then
//   lowered_forward:         col = W * im2col(img)       conv forward,   convT backward-data
//   lowered_backward_data:   img = col2im(W^T * col)     conv bwd-data,  convT forward
//   lowered_backward_weight: dW += col * im2col(img)^T   conv bwd-weight (img = x, col = dy),
//                                                        convT bwd-weight (img = dy, col = x)
// A 1x1 stride-1 unpadded kernel needs no im2col: the image itself is the column matrix.
// Groups with a single image-side channel (depthwise) go to direct loops (conv_depthwise.cpp).
#include "kernels/cpu/conv.hpp"

#include <omp.h>

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "kernels/cpu/conv_depthwise.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/im2col.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {
namespace {

struct Lowered {
  int64_t N, groups;
  int64_t img_channels, col_channels;  // whole tensors, all groups
  ConvGeometry geo;                    // per group: geo.channels = img_channels / groups

  int64_t img_group() const { return img_channels / groups; }
  int64_t col_group() const { return col_channels / groups; }
  int64_t img_plane() const { return geo.H * geo.W; }
  int64_t col_plane() const { return geo.Ho * geo.Wo; }
  int64_t k_group() const { return geo.col_rows(); }  // GEMM depth per group
  int64_t weight_group() const { return col_group() * k_group(); }
  bool is_depthwise() const { return img_group() == 1; }
  // Placement rows per im2col band. A GEMM that runs on one thread gets bands whose column
  // matrix (k_group() rows) stays near kBandBytes, still in L2 when the GEMM reads it; a GEMM
  // that is itself parallel (the batch loop is serial) works best on the whole image.
  int64_t band_rows(size_t elem_bytes, bool parallel_gemm) const {
    constexpr int64_t kBandBytes = 512 * 1024;
    if (parallel_gemm) return geo.Ho;
    const int64_t row_bytes = k_group() * geo.Wo * int64_t(elem_bytes);
    return std::clamp<int64_t>(kBandBytes / row_bytes, 1, geo.Ho);
  }
  DepthwiseShape depthwise() const { return DepthwiseShape{N, groups, col_group(), geo}; }
  bool is_pointwise() const {
    return geo.kH == 1 && geo.kW == 1 && geo.stride_h == 1 && geo.stride_w == 1 && geo.pad_h == 0 &&
           geo.pad_w == 0 && geo.H == geo.Ho && geo.W == geo.Wo;
  }
};

Lowered lower(const Conv2dParams& p) {
  const ConvGeometry g{.channels = p.C_in / p.groups,
                       .H = p.H,
                       .W = p.W,
                       .Ho = p.H_out(),
                       .Wo = p.W_out(),
                       .kH = p.kH,
                       .kW = p.kW,
                       .stride_h = p.stride_h,
                       .stride_w = p.stride_w,
                       .pad_h = p.pad_h,
                       .pad_w = p.pad_w,
                       .dil_h = p.dil_h,
                       .dil_w = p.dil_w};
  return Lowered{p.N, p.groups, p.C_in, p.C_out, g};
}

// The transposed convolution's output is the image side, its input the column side.
Lowered lower(const ConvT2dParams& p) {
  const ConvGeometry g{.channels = p.C_out / p.groups,
                       .H = p.H_out(),
                       .W = p.W_out(),
                       .Ho = p.H,
                       .Wo = p.W,
                       .kH = p.kH,
                       .kW = p.kW,
                       .stride_h = p.stride_h,
                       .stride_w = p.stride_w,
                       .pad_h = p.pad_h,
                       .pad_w = p.pad_w,
                       .dil_h = p.dil_h,
                       .dil_w = p.dil_w};
  return Lowered{p.N, p.groups, p.C_out, p.C_in, g};
}

// A growing per-thread buffer: convolutions run every step with the same shapes, so after the
// first step no allocation (and no page fault) happens on the hot path.
template <class T>
T* thread_buffer(int slot, int64_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& b = buffers[slot];
  if (b.size() < size_t(count)) b.resize(size_t(count));
  return b.data();
}

// Images processed concurrently. With fewer images than threads the batch loop stays serial
// and each GEMM uses the threads instead; tiny problems stay serial altogether, since waking
// a thread team costs more than they do.
int batch_workers(const Lowered& L) {
  const int64_t macs = L.N * L.col_channels * L.col_plane() * L.k_group();
  if (omp_in_parallel() || macs < (int64_t(1) << 18)) return 1;
  return int(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), L.N)));
}

// Whether the GEMMs of a batch loop run with `workers` images in flight are parallel.
bool gemm_is_parallel(int workers) {
  return workers <= 1 && !omp_in_parallel() && omp_get_max_threads() > 1;
}

// Runs body(n) for every image: in an OpenMP loop with serial GEMMs, or serially.
template <class F>
void for_each_image(int64_t N, int workers, F&& body) {
  if (workers <= 1) {
    for (int64_t n = 0; n < N; ++n) body(n);
    return;
  }
  SerialGemmScope serial_gemm;
#pragma omp parallel for num_threads(workers) schedule(static)
  for (int64_t n = 0; n < N; ++n) body(n);
}

template <class T>
void lowered_forward(const Lowered& L, const T* img, const T* w, const T* bias, T* col_out) {
  if (L.is_depthwise()) return depthwise_forward(L.depthwise(), img, w, bias, col_out);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.geo.Wo;
  const int workers = batch_workers(L);
  const int64_t band = L.band_rows(sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = L.is_pointwise();
  for_each_image(L.N, workers, [&](int64_t n) {
    for (int64_t g = 0; g < L.groups; ++g) {
      const T* img_g = img + (n * L.img_channels + g * L.img_group()) * L.img_plane();
      const T* w_g = w + g * L.weight_group();
      T* out = col_out + (n * L.col_channels + g * M) * P;
      T beta = T(0);
      if (bias != nullptr) {  // start from the bias and let the GEMM add onto it
        for (int64_t c = 0; c < M; ++c) std::fill(out + c * P, out + (c + 1) * P, bias[g * M + c]);
        beta = T(1);
      }
      if (pointwise) {
        gemm(false, false, M, P, K, T(1), w_g, K, img_g, P, beta, out, P);
        continue;
      }
      T* cols = thread_buffer<T>(0, K * band * Wo);
      for (int64_t oh0 = 0; oh0 < L.geo.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.geo.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        im2col(L.geo, img_g, cols, oh0, oh1);
        gemm(false, false, M, n_cols, K, T(1), w_g, K, cols, n_cols, beta, out + oh0 * Wo, P);
      }
    }
  });
}

template <class T>
void lowered_backward_data(const Lowered& L, const T* col_in, const T* w, T* img_out) {
  if (L.is_depthwise()) return depthwise_backward_data(L.depthwise(), col_in, w, img_out);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.geo.Wo;
  const int workers = batch_workers(L);
  const int64_t band = L.band_rows(sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = L.is_pointwise();
  for_each_image(L.N, workers, [&](int64_t n) {
    for (int64_t g = 0; g < L.groups; ++g) {
      const T* in = col_in + (n * L.col_channels + g * M) * P;
      const T* w_g = w + g * L.weight_group();
      T* img_g = img_out + (n * L.img_channels + g * L.img_group()) * L.img_plane();
      if (pointwise) {
        gemm(true, false, K, P, M, T(1), w_g, K, in, P, T(0), img_g, P);
        continue;
      }
      std::fill(img_g, img_g + L.img_group() * L.img_plane(), T(0));
      T* cols = thread_buffer<T>(0, K * band * Wo);
      for (int64_t oh0 = 0; oh0 < L.geo.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.geo.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        gemm(true, false, K, n_cols, M, T(1), w_g, K, in + oh0 * Wo, P, T(0), cols, n_cols);
        col2im_add(L.geo, cols, img_g, oh0, oh1);
      }
    }
  });
}

// dW += sum_n col_n * im2col(img_n)^T. With several workers each sums its contiguous share of
// the batch into a private buffer; the buffers are then added to dW in worker order.
template <class T>
void lowered_backward_weight(const Lowered& L, const T* img, const T* col_in, T* dw) {
  if (L.is_depthwise()) return depthwise_backward_weight(L.depthwise(), img, col_in, dw);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.geo.Wo;
  const int64_t wsize = L.groups * L.weight_group();
  const int workers = batch_workers(L);
  const int64_t band = L.band_rows(sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = L.is_pointwise();
  auto accumulate_image = [&](int64_t n, T* target) {
    for (int64_t g = 0; g < L.groups; ++g) {
      const T* img_g = img + (n * L.img_channels + g * L.img_group()) * L.img_plane();
      const T* in = col_in + (n * L.col_channels + g * M) * P;
      T* dw_g = target + g * L.weight_group();
      if (pointwise) {
        gemm(false, true, M, K, P, T(1), in, P, img_g, P, T(1), dw_g, K);
        continue;
      }
      T* cols = thread_buffer<T>(0, K * band * Wo);
      for (int64_t oh0 = 0; oh0 < L.geo.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.geo.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        im2col(L.geo, img_g, cols, oh0, oh1);
        gemm(false, true, M, K, n_cols, T(1), in + oh0 * Wo, P, cols, n_cols, T(1), dw_g, K);
      }
    }
  };

  if (workers <= 1) {
    for (int64_t n = 0; n < L.N; ++n) accumulate_image(n, dw);
    return;
  }
  std::vector<T*> partial(size_t(workers), nullptr);
  SerialGemmScope serial_gemm;
#pragma omp parallel num_threads(workers)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    T* mine = thread_buffer<T>(1, wsize);
    std::fill(mine, mine + wsize, T(0));
    for (int64_t n = L.N * t / nt; n < L.N * (t + 1) / nt; ++n) accumulate_image(n, mine);
    partial[size_t(t)] = mine;
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i = 0; i < wsize; ++i) {
      T s = dw[i];
      for (int k = 0; k < nt; ++k) s += partial[size_t(k)][i];
      dw[i] = s;
    }
  }
}

// dbias[c] += sum over batch and plane of dy[n][c]; one channel per iteration, summed in
// double in an order fixed at compile time, so the result does not depend on the thread count.
template <class T>
void bias_gradient(const T* dy, int64_t N, int64_t C, int64_t plane, T* dbias) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && N * C * plane >= (1 << 18))
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* row = dy + (n * C + c) * plane;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < plane; ++i) s += double(row[i]);
    }
    dbias[c] += T(s);
  }
}

template <class T>
void add_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t plane) {
#pragma omp parallel for collapse(2) \
    schedule(static) if (!omp_in_parallel() && N * C * plane >= (1 << 18))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      T* row = y + (n * C + c) * plane;
      for (int64_t i = 0; i < plane; ++i) row[i] += bias[c];
    }
}

void check_common(const char* op, int64_t N, int64_t C_in, int64_t C_out, int64_t H, int64_t W,
                  int64_t kH, int64_t kW, int sh, int sw, int ph, int pw, int dh, int dw,
                  int groups) {
  SDKD_CHECK(N >= 0, op, ": batch N must be >= 0, got ", N);
  SDKD_CHECK(C_in >= 1 && C_out >= 1, op, ": channels must be >= 1, got C_in=", C_in,
             " C_out=", C_out);
  SDKD_CHECK(H >= 1 && W >= 1, op, ": input size must be >= 1, got H=", H, " W=", W);
  SDKD_CHECK(kH >= 1 && kW >= 1, op, ": kernel size must be >= 1, got ", kH, "x", kW);
  SDKD_CHECK(sh >= 1 && sw >= 1, op, ": stride must be >= 1, got ", sh, "x", sw);
  SDKD_CHECK(ph >= 0 && pw >= 0, op, ": padding must be >= 0, got ", ph, "x", pw);
  SDKD_CHECK(dh >= 1 && dw >= 1, op, ": dilation must be >= 1, got ", dh, "x", dw);
  SDKD_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  SDKD_CHECK(C_in % groups == 0, op, ": C_in=", C_in, " is not divisible by groups=", groups);
  SDKD_CHECK(C_out % groups == 0, op, ": C_out=", C_out, " is not divisible by groups=", groups);
}

// Required tensors must exist unless the batch is empty.
void check_pointers(const char* op, int64_t N, std::initializer_list<const void*> required) {
  if (N == 0) return;
  for (const void* ptr : required)
    SDKD_CHECK(ptr != nullptr, op, ": a required input or output pointer is null");
}

}  // namespace

int64_t Conv2dParams::H_out() const {
  return (H + 2 * int64_t(pad_h) - int64_t(dil_h) * (kH - 1) - 1) / stride_h + 1;
}
int64_t Conv2dParams::W_out() const {
  return (W + 2 * int64_t(pad_w) - int64_t(dil_w) * (kW - 1) - 1) / stride_w + 1;
}

void Conv2dParams::validate() const {
  check_common("conv2d", N, C_in, C_out, H, W, kH, kW, stride_h, stride_w, pad_h, pad_w, dil_h,
               dil_w, groups);
  // Compare before dividing: C++ division truncates toward zero, which would round a
  // slightly negative span up to an output of size 1.
  const int64_t span_h = H + 2 * int64_t(pad_h) - int64_t(dil_h) * (kH - 1);
  const int64_t span_w = W + 2 * int64_t(pad_w) - int64_t(dil_w) * (kW - 1);
  SDKD_CHECK(span_h >= 1 && span_w >= 1, "conv2d: output size would be < 1: input ", H, "x", W,
             " + 2*padding ", pad_h, "x", pad_w, " is smaller than the dilated kernel ",
             int64_t(dil_h) * (kH - 1) + 1, "x", int64_t(dil_w) * (kW - 1) + 1);
}

int64_t ConvT2dParams::H_out() const {
  return (H - 1) * stride_h - 2 * int64_t(pad_h) + int64_t(dil_h) * (kH - 1) + output_padding_h + 1;
}
int64_t ConvT2dParams::W_out() const {
  return (W - 1) * stride_w - 2 * int64_t(pad_w) + int64_t(dil_w) * (kW - 1) + output_padding_w + 1;
}

void ConvT2dParams::validate() const {
  check_common("conv_transpose2d", N, C_in, C_out, H, W, kH, kW, stride_h, stride_w, pad_h, pad_w,
               dil_h, dil_w, groups);
  SDKD_CHECK(output_padding_h >= 0 && output_padding_w >= 0,
             "conv_transpose2d: output_padding must be >= 0, got ", output_padding_h, "x",
             output_padding_w);
  SDKD_CHECK(
      output_padding_h < std::max(stride_h, dil_h) && output_padding_w < std::max(stride_w, dil_w),
      "conv_transpose2d: output_padding ", output_padding_h, "x", output_padding_w,
      " must be smaller than stride ", stride_h, "x", stride_w, " or dilation ", dil_h, "x", dil_w);
  SDKD_CHECK(H_out() >= 1 && W_out() >= 1, "conv_transpose2d: output size would be ", H_out(), "x",
             W_out(), " (< 1): padding ", pad_h, "x", pad_w, " is too large");
}

template <class T>
void conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
  p.validate();
  check_pointers("conv2d_forward", p.N, {x, w, y});
  lowered_forward(lower(p), x, w, bias, y);
}

template <class T>
void conv2d_backward_data(const Conv2dParams& p, const T* dy, const T* w, T* dx) {
  p.validate();
  check_pointers("conv2d_backward_data", p.N, {dy, w, dx});
  lowered_backward_data(lower(p), dy, w, dx);
}

template <class T>
void conv2d_backward_weight(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* dbias) {
  p.validate();
  check_pointers("conv2d_backward_weight", p.N, {x, dy, dw});
  lowered_backward_weight(lower(p), x, dy, dw);
  if (dbias != nullptr) bias_gradient(dy, p.N, p.C_out, p.H_out() * p.W_out(), dbias);
}

template <class T>
void conv_transpose2d_forward(const ConvT2dParams& p, const T* x, const T* w, const T* bias, T* y) {
  p.validate();
  check_pointers("conv_transpose2d_forward", p.N, {x, w, y});
  lowered_backward_data(lower(p), x, w, y);
  if (bias != nullptr) add_bias(y, bias, p.N, p.C_out, p.H_out() * p.W_out());
}

template <class T>
void conv_transpose2d_backward_data(const ConvT2dParams& p, const T* dy, const T* w, T* dx) {
  p.validate();
  check_pointers("conv_transpose2d_backward_data", p.N, {dy, w, dx});
  lowered_forward(lower(p), dy, w, static_cast<const T*>(nullptr), dx);
}

template <class T>
void conv_transpose2d_backward_weight(const ConvT2dParams& p, const T* x, const T* dy, T* dw,
                                      T* dbias) {
  p.validate();
  check_pointers("conv_transpose2d_backward_weight", p.N, {x, dy, dw});
  lowered_backward_weight(lower(p), dy, x, dw);
  if (dbias != nullptr) bias_gradient(dy, p.N, p.C_out, p.H_out() * p.W_out(), dbias);
}

#define SDKD_INSTANTIATE_CONV(T)                                                                  \
  template void conv2d_forward<T>(const Conv2dParams&, const T*, const T*, const T*, T*);         \
  template void conv2d_backward_data<T>(const Conv2dParams&, const T*, const T*, T*);             \
  template void conv2d_backward_weight<T>(const Conv2dParams&, const T*, const T*, T*, T*);       \
  template void conv_transpose2d_forward<T>(const ConvT2dParams&, const T*, const T*, const T*,   \
                                            T*);                                                  \
  template void conv_transpose2d_backward_data<T>(const ConvT2dParams&, const T*, const T*, T*);  \
  template void conv_transpose2d_backward_weight<T>(const ConvT2dParams&, const T*, const T*, T*, \
                                                    T*);
SDKD_INSTANTIATE_CONV(float)
SDKD_INSTANTIATE_CONV(double)
#undef SDKD_INSTANTIATE_CONV

}  // namespace sdkd::cpu
