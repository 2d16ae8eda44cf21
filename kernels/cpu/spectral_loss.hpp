#pragma once
// Fused band-split spectral loss (CPU twin of the CUDA kernel): one pass over the half spectra
// of a student S and a teacher T (rfft2 layout, `batch` maps of H x (W/2+1) bins) that sums
// w_k |S_k - T_k|^2 per band and, optionally, writes the gradient spectrum.
//
// - band_of[r * (W/2+1) + kx] in [0, K) is the band of half-spectrum bin (row r, column kx).
// - w_k is the half-spectrum column weight (half_spectrum_column_weight): columns that stand
//   for a bin and its unstored conjugate count twice, so sums equal full-spectrum sums.
// - band_sums[b] (K doubles, overwritten) = sum over maps and bins of band b of w_k |S_k - T_k|^2,
//   accumulated in double per map and then summed over maps in index order: the result does
//   not depend on the number of OpenMP threads.
// - grad (nullable; may alias S) receives G_k = grad_scale[band] * (S_k - T_k). For the loss
//   L = sum_b c_b sum_{k in b} w_k |S_k - T_k|^2 pass grad_scale[b] = 2 c_b: then G is dL/dS_k
//   divided by w_k, which is exactly what the orthonormal irfft2 needs to produce the spatial
//   gradient (irfft2 re-applies the factor w_k when it rebuilds the unstored conjugate bins;
//   see engine/src/ops_spectral_loss.cpp for the derivation).
#include <complex>
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

// 1 for the DC column and, for even W, the Nyquist column kx = W/2 (self-conjugate columns);
// 2 for every other column of the half spectrum.
inline int half_spectrum_column_weight(int64_t kx, int64_t W) {
  return (kx == 0 || (W % 2 == 0 && 2 * kx == W)) ? 1 : 2;
}

template <class T>
void spectral_band_loss(const std::complex<T>* S, const std::complex<T>* Tt, std::complex<T>* grad,
                        int64_t batch, int H, int W, const int32_t* band_of, int K,
                        const double* grad_scale, double* band_sums);

// band_sums[b] = sum over maps and bins of band b of w_k |X_k|^2 (same conventions as above):
// the band energies of one spectrum, e.g. the teacher's for adaptive band weights.
template <class T>
void spectral_band_energy(const std::complex<T>* X, int64_t batch, int H, int W, const int32_t* band_of,
                          int K, double* band_sums);

}  // namespace sdkd::cpu
