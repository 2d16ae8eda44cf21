#include "kernels/cpu/fft_bluestein.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sdkd::cpu::fft_detail {

namespace {

int convolution_length(int n) {
  int m = 1;
  while (m < 2 * n - 1) m *= 2;
  return m;
}

}  // namespace

template <typename T>
Bluestein<T>::Bluestein(int n) : n_(n), m_(convolution_length(n)), inner_(m_) {
  // b_j = e^{-i pi j^2 / n}; j^2 is reduced mod 2n first, so the angle stays exact for large j.
  std::vector<double> br(static_cast<size_t>(n)), bi(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    const int64_t q = (int64_t(j) * j) % (2 * int64_t(n));
    const double theta = M_PI * double(q) / double(n);
    br[size_t(j)] = std::cos(theta);
    bi[size_t(j)] = -std::sin(theta);
  }
  chirp_re_.assign(br.begin(), br.end());
  chirp_im_.assign(bi.begin(), bi.end());
  // The kernel conj(b_m) at m and M - m (the convolution runs over k - j in (-n, n)), its
  // spectrum taken in double whatever T is.
  const LaneFft<double> fft(m_);
  std::vector<double> hr(size_t(m_), 0.0), hi(size_t(m_), 0.0), unused;
  for (int m = 0; m < n; ++m) {
    for (int at : {m, (m_ - m) % m_}) {
      hr[size_t(fft.slot(at))] = br[size_t(m)];
      hi[size_t(fft.slot(at))] = -bi[size_t(m)];
    }
  }
  fft.run(hr.data(), hi.data(), 1, false, unused);
  kernel_re_.resize(size_t(m_));
  kernel_im_.resize(size_t(m_));
  for (int k = 0; k < m_; ++k) {
    kernel_re_[size_t(k)] = T(hr[size_t(k)] / m_);
    kernel_im_[size_t(k)] = T(hi[size_t(k)] / m_);
  }
}

template <typename T>
void Bluestein<T>::run(T* re, T* im, int lanes, bool inverse, std::vector<T>& scratch) const {
  const size_t ml = size_t(m_) * size_t(lanes);
  if (scratch.size() < 4 * ml) scratch.resize(4 * ml);
  T* ar = scratch.data();
  T* ai = ar + ml;
  T* br = ai + ml;
  T* bi = br + ml;
  // The inverse as conj(forward(conj x)): a sign on the imaginary parts in and out (exact).
  const T conj = inverse ? T(-1) : T(1);
  std::fill(ar, ar + 2 * ml, T(0));
  for (int j = 0; j < n_; ++j) {
    const T cr = chirp_re_[size_t(j)], ci = chirp_im_[size_t(j)];
    const T* __restrict xr = re + size_t(j) * lanes;
    const T* __restrict xi = im + size_t(j) * lanes;
    T* __restrict yr = ar + size_t(inner_.slot(j)) * lanes;
    T* __restrict yi = ai + size_t(inner_.slot(j)) * lanes;
#pragma omp simd
    for (int l = 0; l < lanes; ++l) {
      const T vr = xr[l], vi = conj * xi[l];
      yr[l] = vr * cr - vi * ci;
      yi[l] = vr * ci + vi * cr;
    }
  }
  // The inner transforms are powers of two: they never touch `scratch`.
  inner_.run(ar, ai, lanes, false, scratch);
  for (int k = 0; k < m_; ++k) {
    const T hr = kernel_re_[size_t(k)], hi = kernel_im_[size_t(k)];
    const T* __restrict xr = ar + size_t(k) * lanes;
    const T* __restrict xi = ai + size_t(k) * lanes;
    T* __restrict yr = br + size_t(inner_.slot(k)) * lanes;
    T* __restrict yi = bi + size_t(inner_.slot(k)) * lanes;
#pragma omp simd
    for (int l = 0; l < lanes; ++l) {
      yr[l] = xr[l] * hr - xi[l] * hi;
      yi[l] = xr[l] * hi + xi[l] * hr;
    }
  }
  inner_.run(br, bi, lanes, true, scratch);
  for (int k = 0; k < n_; ++k) {
    const T cr = chirp_re_[size_t(k)], ci = chirp_im_[size_t(k)];
    const T* __restrict xr = br + size_t(k) * lanes;
    const T* __restrict xi = bi + size_t(k) * lanes;
    T* __restrict yr = re + size_t(k) * lanes;
    T* __restrict yi = im + size_t(k) * lanes;
#pragma omp simd
    for (int l = 0; l < lanes; ++l) {
      yr[l] = xr[l] * cr - xi[l] * ci;
      yi[l] = conj * (xr[l] * ci + xi[l] * cr);
    }
  }
}

template class Bluestein<float>;
template class Bluestein<double>;

}  // namespace sdkd::cpu::fft_detail
