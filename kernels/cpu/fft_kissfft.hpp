#pragma once
// kissfft's (BSD-3) real 2-D FFT, float (the C library) and double (its C++ template), kept only as a yardstick and a second oracle for our
// own transform (fft.hpp): sdkd-bench times rfft2 against it and tests/kernels/test_fft.cpp
// compares the two. Same shapes, conventions and norms as cpu::rfft2 / irfft2; batches split
// over OpenMP threads unless the caller is already in a parallel region. Nothing else calls it.
#include <complex>
#include <cstdint>

#include "kernels/cpu/fft.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

void rfft2_kissfft(const float* x, std::complex<float>* X, int64_t batch, int H, int W, FftNorm norm);
void irfft2_kissfft(const std::complex<float>* X, float* x, int64_t batch, int H, int W, FftNorm norm);
void rfft2_kissfft(const double* x, std::complex<double>* X, int64_t batch, int H, int W, FftNorm norm);
void irfft2_kissfft(const std::complex<double>* X, double* x, int64_t batch, int H, int W, FftNorm norm);

}  // namespace sdkd::cpu
