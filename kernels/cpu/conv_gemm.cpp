// im2col + GEMM (conv_gemm.hpp). Bands of placement rows keep the column matrix in cache
// between its creation and the GEMM that reads it.
#include "kernels/cpu/conv_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/im2col.hpp"
#include "kernels/cpu/thread_scratch.hpp"
#include "kernels/cpu/parallel_policy.hpp"

namespace sdkd::cpu {

using kern::ConvProblem;

bool gemm_is_pointwise(const ConvProblem& L) {
  return L.kH == 1 && L.kW == 1 && L.stride_h == 1 && L.stride_w == 1 && L.pad_h == 0 && L.pad_w == 0 &&
         L.H == L.Ho && L.W == L.Wo;
}

namespace {

// Placement rows per im2col band. A GEMM that runs on one thread gets bands whose column
// matrix (k_group() rows) stays near kBandBytes, still in L2 when the GEMM reads it; a GEMM
// that is itself parallel (the batch loop is serial) works best on the whole image.
int64_t band_rows(const ConvProblem& L, size_t elem_bytes, bool parallel_gemm) {
  constexpr int64_t kBandBytes = 512 * 1024;
  if (parallel_gemm) return L.Ho;
  const int64_t row_bytes = L.k_group() * L.Wo * int64_t(elem_bytes);
  return std::clamp<int64_t>(kBandBytes / row_bytes, 1, L.Ho);
}

struct ColumnBand;      // im2col's band of the column matrix
struct WeightPartial;   // one worker's weight-gradient sums

// Images processed concurrently. With fewer images than threads the batch loop stays serial
// and each GEMM uses the threads instead; tiny problems stay serial altogether, since waking
// a thread team costs more than they do.
int batch_workers(const ConvProblem& L) {
  const int64_t macs = L.N * L.col_channels * L.col_plane() * L.k_group();
  if (macs < (int64_t(1) << 18) || !threads_pay_flops(2.0 * double(macs))) return 1;
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

}  // namespace

template <class T>
void gemm_forward(const ConvProblem& L, const T* img, const T* w, const T* bias, T* col_out) {
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = gemm_is_pointwise(L);
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
      T* cols = thread_scratch<T, ColumnBand>(K * band * Wo);
      for (int64_t oh0 = 0; oh0 < L.Ho; oh0 += band) {
        const int64_t oh1 = std::min(L.Ho, oh0 + band), n_cols = (oh1 - oh0) * Wo;
        im2col(L, img_g, cols, oh0, oh1);
        gemm(false, false, M, n_cols, K, T(1), w_g, K, cols, n_cols, beta, out + oh0 * Wo, P);
      }
    }
  });
}

template <class T>
void gemm_backward_data(const ConvProblem& L, const T* col_in, const T* w, T* img_out) {
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = gemm_is_pointwise(L);
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
      T* cols = thread_scratch<T, ColumnBand>(K * band * Wo);
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
void gemm_backward_weight(const ConvProblem& L, const T* img, const T* col_in, T* dw) {
  const int64_t M = L.col_group(), K = L.k_group(), P = L.col_plane(), Wo = L.Wo;
  const int64_t wsize = L.groups * L.weight_group();
  const int workers = batch_workers(L);
  const int64_t band = band_rows(L, sizeof(T), gemm_is_parallel(workers));
  const bool pointwise = gemm_is_pointwise(L);
  auto accumulate_image = [&](int64_t n, T* target) {
    for (int64_t g = 0; g < L.groups; ++g) {
      const T* img_g = img + (n * L.img_channels + g * L.img_group()) * L.img_plane();
      const T* in = col_in + (n * L.col_channels + g * M) * P;
      T* dw_g = target + g * L.weight_group();
      if (pointwise) {
        gemm(false, true, M, K, P, T(1), in, P, img_g, P, T(1), dw_g, K);
        continue;
      }
      T* cols = thread_scratch<T, ColumnBand>(K * band * Wo);
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
    T* mine = thread_scratch<T, WeightPartial>(wsize);
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

#define SDKD_INSTANTIATE_CONV_GEMM(T)                                                           \
  template void gemm_forward<T>(const ConvProblem&, const T*, const T*, const T*, T*);        \
  template void gemm_backward_data<T>(const ConvProblem&, const T*, const T*, T*);            \
  template void gemm_backward_weight<T>(const ConvProblem&, const T*, const T*, T*);
SDKD_INSTANTIATE_CONV_GEMM(float)
SDKD_INSTANTIATE_CONV_GEMM(double)
#undef SDKD_INSTANTIATE_CONV_GEMM

}  // namespace sdkd::cpu
