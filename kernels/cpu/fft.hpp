#pragma once
// Batched real 2-D FFT over the last two axes of a (batch, H, W) array, numpy's conventions:
// X = rfft2(x) has shape (batch, H, W/2+1) with X[k, l] = sum_{m,n} x[m, n] e^{-2 pi i (km/H + ln/W)}
// (times the norm's factor), and irfft2 is its inverse, treating the input as the half of a
// Hermitian spectrum (the imaginary parts of the self-conjugate bins are ignored).
//
// Both precisions go through our own FFT (one template, fft.cpp over the 1-D plans of
// fft_plan.hpp): every length n >= 1, radix-2/4 for powers of two, mixed radix with butterflies
// for 3, 5, 7, 11 and 13, and Bluestein's chirp-z for lengths with a larger prime factor; the
// row pairs and the columns are the lanes of contiguous SIMD loops, twiddles computed in
// double. For powers of two the double arithmetic is bit for bit that of the original radix-2/4
// code (the Navier-Stokes data depend on it). kissfft (fft_kissfft.hpp) remains only as the
// benchmark's yardstick and a test oracle. Deterministic (the same bits whatever the thread
// count or call history) and thread-safe; batches are split over OpenMP threads unless the
// caller is already inside a parallel region.
#include <complex>
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

// numpy's `norm`: backward = no factor forward, 1/(HW) inverse; ortho = 1/sqrt(HW) both ways;
// forward = 1/(HW) forward, no factor inverse.
enum class FftNorm { backward, ortho, forward };

// The factor applied by the forward (inverse = false) or inverse transform of n = H*W points.
double fft_scale(FftNorm norm, int64_t n, bool inverse);

void rfft2(const float* x, std::complex<float>* X, int64_t batch, int H, int W, FftNorm norm);
void rfft2(const double* x, std::complex<double>* X, int64_t batch, int H, int W, FftNorm norm);

void irfft2(const std::complex<float>* X, float* x, int64_t batch, int H, int W, FftNorm norm);
void irfft2(const std::complex<double>* X, double* x, int64_t batch, int H, int W, FftNorm norm);

}  // namespace sdkd::cpu
