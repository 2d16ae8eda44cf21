#pragma once
// Batched real 2-D FFT over the last two axes of a (batch, H, W) array, numpy's conventions:
// X = rfft2(x) has shape (batch, H, W/2+1) with X[k, l] = sum_{m,n} x[m, n] e^{-2 pi i (km/H + ln/W)}
// (times the norm's factor), and irfft2 is its inverse, treating the input as the half of a
// Hermitian spectrum (the imaginary parts of the self-conjugate bins are ignored).
//
// float goes through kissfft (BSD-3). double goes through our own small FFT (radix-2 for
// powers of two, a direct DFT otherwise): kissfft in Debian is float only, and the double path
// is the oracle for float64 gradient checks and the precision of the Navier-Stokes solver.
// Both are deterministic and thread-safe; batches are split over OpenMP threads unless the
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
