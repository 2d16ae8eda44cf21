#pragma once
// The butterfly stages of LaneFft (fft_plan.hpp), in place on the lane layout: element j of
// lane l at j * lanes + l in separate real and imaginary planes. Each stage is a loop over
// butterflies with scalar twiddles and, inside it, one contiguous `omp simd` loop over lanes.
// Included by fft_plan.cpp only.
#include <cstddef>

#include "kernels/internal.hpp"

namespace sdkd::cpu::fft_detail {

// Butterflies of length 2 on adjacent elements (the first stage: all twiddles are 1).
template <typename T>
void radix2_stage(T* re, T* im, int lanes, int n) {
  for (int start = 0; start < n; start += 2) {
    T* __restrict pr = re + start * lanes;
    T* __restrict pi = im + start * lanes;
    T* __restrict qr = pr + lanes;
    T* __restrict qi = pi + lanes;
#pragma omp simd
    for (int l = 0; l < lanes; ++l) {
      const T tr = qr[l], ti = qi[l];
      qr[l] = pr[l] - tr;
      qi[l] = pi[l] - ti;
      pr[l] += tr;
      pi[l] += ti;
    }
  }
}

// The radix-2 stages of half-lengths h and 2h at once. With a0..a3 the points j, j+h, j+2h,
// j+3h of a block of 4h: b0,1 = a0 +- W a1, b2,3 = a2 +- W a3 (W = w_{2h}^j), then
// c0,2 = b0 +- V b2, c1,3 = b1 +- (-+i) V b3 (V = w_{4h}^j; w_{4h}^{j+h} = -+i V).
// cos_/sin_ hold cos, sin(2 pi m / n). For T = double this is, operation for operation, the
// original double FFT's radix-4 stage: the Navier-Stokes data and checkpoints depend on its bits.
template <typename T>
void radix4_stage(T* re, T* im, int lanes, bool inverse, int h, int n, const T* cos_, const T* sin_) {
  const T s = inverse ? T(1) : T(-1);
  const int step_w = n / (2 * h), step_v = n / (4 * h);
  for (int start = 0; start < n; start += 4 * h) {
    for (int j = 0; j < h; ++j) {
      const T wr = cos_[size_t(j * step_w)], wi = s * sin_[size_t(j * step_w)];
      const T vr = cos_[size_t(j * step_v)], vi = s * sin_[size_t(j * step_v)];
      T* __restrict r0 = re + (start + j) * lanes;
      T* __restrict i0 = im + (start + j) * lanes;
      T* __restrict r1 = r0 + h * lanes;
      T* __restrict i1 = i0 + h * lanes;
      T* __restrict r2 = r1 + h * lanes;
      T* __restrict i2 = i1 + h * lanes;
      T* __restrict r3 = r2 + h * lanes;
      T* __restrict i3 = i2 + h * lanes;
#pragma omp simd
      for (int l = 0; l < lanes; ++l) {
        const T t1r = wr * r1[l] - wi * i1[l], t1i = wr * i1[l] + wi * r1[l];
        const T t3r = wr * r3[l] - wi * i3[l], t3i = wr * i3[l] + wi * r3[l];
        const T b0r = r0[l] + t1r, b0i = i0[l] + t1i;
        const T b1r = r0[l] - t1r, b1i = i0[l] - t1i;
        const T b2r = r2[l] + t3r, b2i = i2[l] + t3i;
        const T b3r = r2[l] - t3r, b3i = i2[l] - t3i;
        const T u2r = vr * b2r - vi * b2i, u2i = vr * b2i + vi * b2r;
        const T v3r = vr * b3r - vi * b3i, v3i = vr * b3i + vi * b3r;
        // times s*i: (x + i y) * (s i) = -s y + i s x
        const T u3r = -s * v3i, u3i = s * v3r;
        r0[l] = b0r + u2r;
        i0[l] = b0i + u2i;
        r2[l] = b0r - u2r;
        i2[l] = b0i - u2i;
        r1[l] = b1r + u3r;
        i1[l] = b1i + u3i;
        r3[l] = b1r - u3r;
        i3[l] = b1i - u3i;
      }
    }
  }
}

// One radix-R butterfly (R an odd prime) over all lanes: the points q * stride, q < R, are
// multiplied by the twiddles w^q (skipped when kTwiddle is false: the first butterfly of a block)
// and replaced by their R-point DFT. The conjugate-pair form: with t_q = a_q + a_{R-q} and
// u_q = a_q - a_{R-q} (q = 1..R/2), X_k = a_0 + sum_q c_{qk} t_q + i sum_q s_{qk} u_q and
// X_{R-k} the same with -i, where c_m = cos(2 pi m / R) and s_m = (+-1) sin(2 pi m / R) carries
// the direction: about R^2 / 2 real multiply-adds per point pair instead of R^2.
template <typename T, int R, bool kTwiddle>
void odd_butterfly(T* __restrict re, T* __restrict im, size_t stride, int lanes, const T (&wr)[R],
                   const T (&wi)[R], const T (&c)[R], const T (&s)[R]) {
  constexpr int h = R / 2;
#pragma omp simd
  for (int l = 0; l < lanes; ++l) {
    T ar[R], ai[R];
    ar[0] = re[l];
    ai[0] = im[l];
#pragma GCC unroll 16
    for (int q = 1; q < R; ++q) {
      const T xr = re[q * stride + l], xi = im[q * stride + l];
      if constexpr (kTwiddle) {
        ar[q] = wr[q] * xr - wi[q] * xi;
        ai[q] = wr[q] * xi + wi[q] * xr;
      } else {
        ar[q] = xr;
        ai[q] = xi;
      }
    }
    T tr[h], ti[h], ur[h], ui[h];
    T sum_r = ar[0], sum_i = ai[0];
#pragma GCC unroll 16
    for (int q = 1; q <= h; ++q) {
      tr[q - 1] = ar[q] + ar[R - q];
      ti[q - 1] = ai[q] + ai[R - q];
      ur[q - 1] = ar[q] - ar[R - q];
      ui[q - 1] = ai[q] - ai[R - q];
      sum_r += tr[q - 1];
      sum_i += ti[q - 1];
    }
    re[l] = sum_r;
    im[l] = sum_i;
#pragma GCC unroll 16
    for (int k = 1; k <= h; ++k) {
      T mr = ar[0], mi = ai[0];
      T nr = s[k] * ur[0], ni = s[k] * ui[0];
      mr += c[k] * tr[0];
      mi += c[k] * ti[0];
#pragma GCC unroll 16
      for (int q = 2; q <= h; ++q) {
        const int m = (q * k) % R;
        mr += c[m] * tr[q - 1];
        mi += c[m] * ti[q - 1];
        nr += s[m] * ur[q - 1];
        ni += s[m] * ui[q - 1];
      }
      re[k * stride + l] = mr - ni;
      im[k * stride + l] = mi + nr;
      re[(R - k) * stride + l] = mr + ni;
      im[(R - k) * stride + l] = mi - nr;
    }
  }
}

// A radix-R decimation-in-time stage after stages whose radices multiply to m: blocks of L = mR
// points, butterfly j of a block on the points j + q m with twiddles w_L^{jq} = w_n^{jq n/L}.
template <typename T, int R>
void odd_stage(T* re, T* im, int lanes, bool inverse, int m, int n, const T* cos_, const T* sin_) {
  const T sign = inverse ? T(1) : T(-1);
  const int L = m * R, step = n / L, unit = n / R;
  T c[R], s[R], wr[R] = {}, wi[R] = {};
  for (int k = 0; k < R; ++k) {
    c[k] = cos_[size_t(k * unit)];
    s[k] = sign * sin_[size_t(k * unit)];
  }
  const size_t stride = size_t(m) * size_t(lanes);
  for (int start = 0; start < n; start += L) {
    T* r0 = re + size_t(start) * lanes;
    T* i0 = im + size_t(start) * lanes;
    odd_butterfly<T, R, false>(r0, i0, stride, lanes, wr, wi, c, s);
    for (int j = 1; j < m; ++j) {
      for (int q = 0; q < R; ++q) {
        const size_t at = size_t(j) * size_t(q) * size_t(step);
        wr[q] = cos_[at];
        wi[q] = sign * sin_[at];
      }
      odd_butterfly<T, R, true>(r0 + size_t(j) * lanes, i0 + size_t(j) * lanes, stride, lanes, wr, wi, c, s);
    }
  }
}

}  // namespace sdkd::cpu::fft_detail
