// The three lowered convolution kernels (kernels/common/conv_problem.hpp) through im2col + GEMM:
//   forward:         col = W * im2col(img)       conv forward,   convT backward-data
//   backward-data:   img = col2im(W^T * col)     conv bwd-data,  convT forward
//   backward-weight: dW = col * im2col(img)^T    conv bwd-weight (img = x, col = dy),
//                                                convT bwd-weight (img = dy, col = x)
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

bool is_depthwise(const ConvProblem& L) { return L.img_group() == 1; }

bool is_pointwise(const ConvProblem& L) {
  return L.kH == 1 && L.kW == 1 && L.stride_h == 1 && L.stride_w == 1 && L.pad_h == 0 && L.pad_w == 0 &&
         L.H == L.Ho && L.W == L.Wo;
}

// Placement rows per im2col band. A GEMM that runs on one thread gets bands whose column
// matrix (k_group() rows) stays near kBandBytes, still in L2 when the GEMM reads it; a GEMM
// that is itself parallel (the batch loop is serial) works best on the whole image.
int64_t band_rows(const ConvProblem& L, size_t elem_bytes, bool parallel_gemm) {
  constexpr int64_t kBandBytes = 512 * 1024;
  if (parallel_gemm) return L.Ho;
  const int64_t row_bytes = L.k_group() * L.Wo * int64_t(elem_bytes);
  return std::clamp<int64_t>(kBandBytes / row_bytes, 1, L.Ho);
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
int batch_workers(const ConvProblem& L) {
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
void lowered_forward(const ConvProblem& L, const T* img, const T* w, const T* bias, T* col_out) {
  if (is_depthwise(L)) return depthwise_forward(L, img, w, bias, col_out);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = is_pointwise(L);
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
      for (int64_t oh0 = 0; oh0 < L.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        im2col(L, img_g, cols, oh0, oh1);
        gemm(false, false, M, n_cols, K, T(1), w_g, K, cols, n_cols, beta, out + oh0 * Wo, P);
      }
    }
  });
}

template <class T>
void lowered_backward_data(const ConvProblem& L, const T* col_in, const T* w, T* img_out) {
  if (is_depthwise(L)) return depthwise_backward_data(L, col_in, w, img_out);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = is_pointwise(L);
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
      for (int64_t oh0 = 0; oh0 < L.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        gemm(true, false, K, n_cols, M, T(1), w_g, K, in + oh0 * Wo, P, T(0), cols, n_cols);
        col2im_add(L, cols, img_g, oh0, oh1);
      }
    }
  });
}

// dW = sum_n col_n * im2col(img_n)^T, the GEMMs accumulating image by image. With several
// workers each sums its contiguous share of the batch into a private buffer; dW is then the
// sum of the buffers in worker order.
template <class T>
void lowered_backward_weight(const ConvProblem& L, const T* img, const T* col_in, T* dw) {
  if (is_depthwise(L)) return depthwise_backward_weight(L, img, col_in, dw);
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int64_t wsize = L.groups * L.weight_group();
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = is_pointwise(L);
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
      for (int64_t oh0 = 0; oh0 < L.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        im2col(L, img_g, cols, oh0, oh1);
        gemm(false, true, M, K, n_cols, T(1), in + oh0 * Wo, P, cols, n_cols, T(1), dw_g, K);
      }
    }
  };

  if (workers <= 1) {
    std::fill(dw, dw + wsize, T(0));
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
      T s = partial[0][i];
      for (int k = 1; k < nt; ++k) s += partial[size_t(k)][i];
      dw[i] = s;
    }
  }
}

// One channel per iteration, summed in double in an order fixed at compile time, so the result
// does not depend on the thread count.
template <class T>
void bias_sums(const T* dy, int64_t N, int64_t C, int64_t plane, T* db) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && N * C * plane >= (1 << 18))
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
    schedule(static) if (!omp_in_parallel() && N * C * plane >= (1 << 18))
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
  lowered_forward(p, img, w, col_bias, col);
}

template <class T>
void conv2d_backward_data(const ConvProblem& p, const T* col, const T* w, const T* img_bias, T* img) {
  check_pointers("conv2d_backward_data", p.N, {col, w, img});
  lowered_backward_data(p, col, w, img);
  if (img_bias != nullptr) add_bias(img, img_bias, p.N, p.img_channels, p.img_plane());
}

template <class T>
void conv2d_backward_weight(const ConvProblem& p, const T* img, const T* col, T* dw) {
  check_pointers("conv2d_backward_weight", p.N, {img, col});
  check_gradient("conv2d_backward_weight", dw);
  lowered_backward_weight(p, img, col, dw);
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
