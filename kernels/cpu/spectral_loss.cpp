#include "kernels/cpu/spectral_loss.hpp"

#include <omp.h>

#include <vector>

#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {

namespace {

void check_args(int64_t batch, int H, int W, const int32_t* band_of, int K, const char* who) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 1 && K >= 1, who, ": expected batch >= 0, H, W >= 1 and K >= 1 bands, got batch ",
             batch, " H ", H, " W ", W, " K ", K);
  SDKD_CHECK(band_of != nullptr, who, ": band_of is null");
}

// Per-map partial sums (batch x K) reduced in map order: deterministic for any thread count.
void reduce_partials(const std::vector<double>& part, int64_t batch, int K, double* band_sums) {
  for (int b = 0; b < K; ++b) band_sums[b] = 0;
  for (int64_t n = 0; n < batch; ++n)
    for (int b = 0; b < K; ++b) band_sums[b] += part[size_t(n * K + b)];
}

}  // namespace

template <class T>
void spectral_band_loss(const std::complex<T>* S, const std::complex<T>* Tt, std::complex<T>* grad,
                        int64_t batch, int H, int W, const int32_t* band_of, int K,
                        const double* grad_scale, double* band_sums) {
  check_args(batch, H, W, band_of, K, "spectral_band_loss");
  SDKD_CHECK(grad == nullptr || grad_scale != nullptr, "spectral_band_loss: a gradient needs grad_scale");
  const int Wc = W / 2 + 1;
  const int64_t bins = int64_t(H) * Wc;
  std::vector<double> part(size_t(batch * K), 0.0);
  std::vector<T> scale(size_t(K), T(0));
  if (grad != nullptr)
    for (int b = 0; b < K; ++b) scale[size_t(b)] = T(grad_scale[b]);
#pragma omp parallel for schedule(static) if (batch > 1 && batch * bins > 4096 && threads_pay_bytes(4.0 * sizeof(T) * double(batch * bins)))
  for (int64_t n = 0; n < batch; ++n) {
    const std::complex<T>* s = S + n * bins;
    const std::complex<T>* t = Tt + n * bins;
    std::complex<T>* g = grad != nullptr ? grad + n * bins : nullptr;
    double* acc = part.data() + n * K;
    for (int r = 0; r < H; ++r) {
      const int64_t row = int64_t(r) * Wc;
      for (int kx = 0; kx < Wc; ++kx) {
        const int64_t i = row + kx;
        const int b = band_of[i];
        const T dre = s[i].real() - t[i].real(), dim = s[i].imag() - t[i].imag();
        acc[b] += double(half_spectrum_column_weight(kx, W)) * (double(dre) * dre + double(dim) * dim);
        if (g != nullptr) g[i] = std::complex<T>(scale[size_t(b)] * dre, scale[size_t(b)] * dim);
      }
    }
  }
  reduce_partials(part, batch, K, band_sums);
}

template <class T>
void spectral_band_energy(const std::complex<T>* X, int64_t batch, int H, int W, const int32_t* band_of,
                          int K, double* band_sums) {
  check_args(batch, H, W, band_of, K, "spectral_band_energy");
  const int Wc = W / 2 + 1;
  const int64_t bins = int64_t(H) * Wc;
  std::vector<double> part(size_t(batch * K), 0.0);
#pragma omp parallel for schedule(static) if (batch > 1 && batch * bins > 4096 && threads_pay_bytes(4.0 * sizeof(T) * double(batch * bins)))
  for (int64_t n = 0; n < batch; ++n) {
    const std::complex<T>* x = X + n * bins;
    double* acc = part.data() + n * K;
    for (int r = 0; r < H; ++r)
      for (int kx = 0; kx < Wc; ++kx) {
        const int64_t i = int64_t(r) * Wc + kx;
        acc[band_of[i]] += double(half_spectrum_column_weight(kx, W)) * std::norm(std::complex<double>(x[i]));
      }
  }
  reduce_partials(part, batch, K, band_sums);
}

template void spectral_band_loss<float>(const std::complex<float>*, const std::complex<float>*, std::complex<float>*,
                                        int64_t, int, int, const int32_t*, int, const double*, double*);
template void spectral_band_loss<double>(const std::complex<double>*, const std::complex<double>*,
                                         std::complex<double>*, int64_t, int, int, const int32_t*, int, const double*,
                                         double*);
template void spectral_band_energy<float>(const std::complex<float>*, int64_t, int, int, const int32_t*, int, double*);
template void spectral_band_energy<double>(const std::complex<double>*, int64_t, int, int, const int32_t*, int,
                                           double*);

}  // namespace sdkd::cpu
