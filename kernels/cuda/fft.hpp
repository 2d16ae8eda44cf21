#pragma once
// Batched real 2-D FFTs on the GPU through cuFFT (plain C++ declarations; fft.cu implements
// them). Layout as the CPU twin (kernels/cpu/fft.hpp): `batch` real maps of H x W, contiguous,
// and half spectra of H x (W/2+1) interleaved (re, im) values (cufftComplex / cufftDoubleComplex).
// Pointers are device pointers; everything runs on the stream of the ExecContext passed first.
//
// cuFFT plans are created on first use and cached for the life of the process, keyed by
// (H, W, batch, type, ctx.device, ctx.stream) under a mutex (a memo of plans, not a setting); cuFFT allocates each plan's work area
// itself (the one place besides the allocator that calls cudaMalloc). Create plans outside a
// CUDA-graph capture (run the shape once before capturing).
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

// float32, orthonormal (numpy's norm="ortho"): X = rfft2(x) / sqrt(HW); then the paired columns
// (1 <= l <= (W-1)/2, the ones that also stand for their unstored mirrors) are multiplied by
// 2^column_power, column_power in {-1, 0, +1} (the backward of irfft2 uses +1). x is not modified.
void rfft2_ortho(const ExecContext& ctx, const float* x, float* X, int64_t batch, int H, int W, int column_power);

// float32, orthonormal inverse: x = irfft2(X * s) with s = factor * (*device_factor when not
// null) * (1/2 on the paired columns when divide_by_weights). As on the CPU the input is read
// as half of a Hermitian spectrum: only the Hermitian part (along H) of the DC column (and the
// Nyquist column for even W) counts, which is what ignoring the imaginary parts after the
// transform down the columns means. X is untouched (the transform runs on a prepared copy in
// a launch-local Workspace of ctx).
void irfft2_ortho(const ExecContext& ctx, const float* X, float* x, int64_t batch, int H, int W,
                  bool divide_by_weights, double factor, const float* device_factor);

// float64, no normalisation (numpy's norm="backward" forward transform): X = rfft2(x).
void rfft2_f64_raw(const ExecContext& ctx, const double* x, double* X, int64_t batch, int H, int W);

// float64 complex-to-real transform without normalisation (the sum over the full Hermitian
// spectrum). X must already be Hermitian in its self-conjugate columns and is DESTROYED.
void irfft2_f64_raw_destructive(const ExecContext& ctx, double* X, double* x, int64_t batch, int H, int W);

}  // namespace sdkd::gpu
