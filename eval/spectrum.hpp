#pragma once
// Fourier-space diagnostics of 2-D fields: the radial energy spectrum and the low/high-band
// error of a prediction against the truth (SPEC §4).
//
// Conventions (ours):
// - Coefficients are the forward-normalised DFT, w_hat(k) = (1/HW) sum_x w(x) e^{-2 pi i k.x},
//   so Parseval reads sum_{all k} |w_hat(k)|^2 = mean over pixels of w^2, independent of H, W.
// - Wavenumbers are signed integers: ky in (-H/2, H/2] along rows, kx in [0, W/2] along the
//   half-spectrum columns. Half-spectrum columns that stand for two conjugate bins (all but
//   kx = 0 and, for even W, kx = W/2) count twice, so sums over the half spectrum equal sums
//   over the full one.
// - Energy spectrum: E(k) = 0.5 * sum over bins with round(|k|) = k of |w_hat|^2, averaged over
//   fields. Hence sum_k E(k) = 0.5 * mean over fields of mean over pixels of w^2 (for vorticity
//   this is the enstrophy per unit area, spread over shells). Shells run from 0 to
//   round(sqrt((H/2)^2 + (W/2)^2)) so every bin, corners included, lands in one; shells above
//   min(H, W)/2 are only partly inside the grid.
// - Bands: rho = sqrt((ky / (H/2))^2 + (kx / (W/2))^2); low is rho <= cutoff, high rho > cutoff
//   (the same split as the KD loss, SPEC §3). Band error = sqrt(sum_band |P - T|^2 /
//   sum_band |T|^2), a relative L2 restricted to the band.
#include <cstdint>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd::eval {

// Number of shells energy_spectrum returns for an H x W grid.
int spectrum_shells(int H, int W);

// Adds sum over `fields` contiguous H x W fields of each field's E(k) into `sum` (resized to
// spectrum_shells(H, W) when empty; must have that size otherwise). Divide by the field count
// for the mean.
void accumulate_energy_spectrum(const float* x, int64_t fields, int H, int W, std::vector<double>& sum);

// Mean E(k) over the fields of a (..., H, W) tensor (float32 or float64, at least 2-d).
std::vector<double> energy_spectrum(const Tensor& x);

// Squared-error and squared-truth sums of one field's Fourier coefficients, per band.
struct BandSums {
  double err_low = 0, truth_low = 0, err_high = 0, truth_high = 0;
  BandSums& operator+=(const BandSums& o);
  double low_error() const;   // sqrt(err_low / truth_low); 0 when both are 0
  double high_error() const;  // likewise for the high band
};

// Band sums of `fields` contiguous H x W fields, one entry per field.
std::vector<BandSums> band_sums(const float* pred, const float* truth, int64_t fields, int H, int W,
                                double cutoff = 0.25);

struct BandErrors {
  double low = 0, high = 0;
};

// Band errors of (B, ..., H, W) tensors: per sample (leading index b, all its fields pooled, as
// relative L2 is per sample) then averaged over samples.
BandErrors band_errors(const Tensor& pred, const Tensor& truth, double cutoff = 0.25);

}  // namespace sdkd::eval
