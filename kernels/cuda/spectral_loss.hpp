#pragma once
// The fused band-split spectral loss on the GPU (CUDA twin of kernels/cpu/spectral_loss.hpp,
// same conventions): one pass over the half spectra of a student S and a teacher T (`batch`
// maps of H x (W/2+1) interleaved (re, im) floats) for all K bands at once, summing
// w_k |S_k - T_k|^2 per band (w_k the half-spectrum column weight) and, when asked, writing
// the gradient spectrum G_k = grad_scale[band] * (S_k - T_k) in the same pass.
//
// Pointers are device pointers except grad_scale and band_sums (host). The sums are reduced
// deterministically: fixed per-block partials (the grid depends only on the problem size),
// then one ordered pass over the blocks; no atomics. band_sums is copied back to the host, so
// these calls wait for the device. Launches go on the stream of the ExecContext passed first;
// the partial sums live in a launch-local Workspace of it.
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

constexpr int kMaxSpectralBands = 32;

// band_of: device int32, H * (W/2+1) entries in [0, K). grad: nullable, may alias S.
// grad_scale: K host doubles (may be null when grad is null). band_sums: K host doubles, overwritten.
void spectral_band_loss(const ExecContext& ctx, const float* S, const float* T, float* grad, int64_t batch, int H,
                        int W, const int32_t* band_of, int K, const double* grad_scale, double* band_sums);

// band_sums[b] = sum over maps and bins of band b of w_k |X_k|^2 (e.g. the teacher's band energies).
void spectral_band_energy(const ExecContext& ctx, const float* X, int64_t batch, int H, int W,
                          const int32_t* band_of, int K, double* band_sums);

}  // namespace sdkd::gpu
