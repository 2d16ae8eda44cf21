#pragma once
// The band-split spectral loss of frequency-aligned knowledge distillation (SPEC §3), an
// engine op with a fused CPU kernel and a fused CUDA kernel: the student's and the teacher's
// feature maps are compared band by band in Fourier space.
//
// Bands (ours): radial, by the normalised wavenumber of a bin of the rfft2 half spectrum of an
// H x W map, rho = sqrt((ky / (H/2))^2 + (kx / (W/2))^2), with integer frequencies
// ky = r for r < (H+1)/2 and r - H otherwise (numpy's fftfreq order, ky in -H/2..H/2-1 for
// even H), kx = 0..W/2, and H/2, W/2 taken as real numbers (so odd sizes have no bin at
// exactly |ky| = H/2). rho = 1 on the Nyquist frequency of either axis; the corners have
// rho up to sqrt(2) and belong to the last band. With cutoffs c_1 < ... < c_{K-1}, band 0 is
// rho <= c_1, band b is c_b < rho <= c_{b+1}, band K-1 is rho > c_{K-1}. A bin within 1e-12 of
// a cutoff counts as on it (so rho computed as exactly 0.25 by another rounding is still low).
// rho is even in k, so a bin and its conjugate always share a band: the half-spectrum column
// weight then makes every half-spectrum sum equal the full-spectrum sum.
//
// Loss: L = (1 / numel) sum_b weight_b sum_{k in band b} w_k |S_k - T_k|^2, S and T the
// orthonormal rfft2 of the student and teacher maps over their last two axes, w_k the column
// weight. With every weight 1 this is exactly mse(student, teacher) (Parseval).
//
// Band weights: weight_0 = alpha (the lowest band), the others 1, unless band_weights gives all
// K. Adaptive (ours): each weight is further multiplied by a_b proportional to the teacher's
// band energy per bin to the power -gamma, E_b = sum_{k in b} w_k |T_k|^2 / (maps * bins_b)
// with bins_b the full-spectrum bin count of band b; the a_b of the non-empty bands are
// normalised to sum to their number (so a teacher with a flat spectrum gives a_b = 1 and K
// non-empty bands sum to K); empty bands (tiny maps) get a_b = 0. Energies are floored at
// 1e-12 of the largest (and a_b = 1 when the teacher is all zero). The weights are computed
// from the teacher alone, without gradient.
#include <cstdint>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd {

struct BandSpec {
  std::vector<double> cutoffs{0.25};  // strictly increasing, > 0
};

// K = cutoffs.size() + 1; throws sdkd::Error on cutoffs that are not increasing and positive.
int band_count(const BandSpec& spec);

// rho of half-spectrum bin (row r, column kx) of an H x W map (definition above).
double normalised_wavenumber(int64_t r, int64_t kx, int64_t H, int64_t W);

// Band of each half-spectrum bin, index r * (W/2+1) + kx.
std::vector<int32_t> band_index(const BandSpec& spec, int64_t H, int64_t W);

// 1 for kx = 0 and, for even W, kx = W/2; 2 otherwise.
int half_spectrum_weight(int64_t kx, int64_t W);

// Full-spectrum bins per band (sum of half-spectrum weights over the band); sums to H * W.
std::vector<int64_t> band_bin_counts(const BandSpec& spec, int64_t H, int64_t W);

// Equal-energy bands (ours; the paper's future work: cutoffs derived from the teacher's
// spectrum). bin_energy: per half-spectrum bin (index r * (W/2+1) + kx) its energy, already
// multiplied by the column weight (sum over maps of w_k |T_k|^2), so it sums to the full
// spectrum's energy. Bins are taken by increasing rho, bins of equal rho (within 1e-12, the
// band rule's tolerance) as one group; cutoff b (b = 1..K-1) lies midway between the rho of
// the group at which the cumulative energy first reaches b/K of the total and the next
// group's (that group closes band b-1), so each band holds 1/K of the energy
// up to one group's share (exactly 1/K when the shares fall on group boundaries: a spectrum
// whose fixed bands hold equal energy gets those same bands back). A group holding more than
// 1/K pushes the next cutoff to the next group, so cutoffs stay strictly increasing, and the
// last cutoff stays below the largest rho (the top band is never empty). sdkd::Error when K < 1,
// the map has fewer than K distinct rho, or the energy is not positive and finite.
BandSpec equal_energy_bands(const std::vector<double>& bin_energy, int64_t H, int64_t W, int K);
// The same from feature maps (..., H, W) of any device and floating dtype: the energy of their
// orthonormal rfft2, summed over every leading index. No gradient is recorded.
BandSpec equal_energy_bands(const Tensor& maps, int K);

struct SpectralKDOptions {
  std::vector<double> cutoffs{0.25};
  double alpha = 1.0;                // weight of the lowest band; higher bands weigh 1 unless band_weights is given
  std::vector<double> band_weights;  // empty, or K = cutoffs.size() + 1 non-negative weights (overrides alpha)
  bool adaptive = false;             // multiply by the teacher-spectrum-adaptive factors (above)
  double gamma = 0.5;
};

struct SpectralKDResult {
  Tensor loss;                      // scalar, the student's dtype; differentiable w.r.t. the student
  std::vector<double> band_losses;  // (1 / numel) sum_{k in b} w_k |S_k - T_k|^2, unweighted: sums to the MSE
  std::vector<double> weights;      // the weight used for each band: loss = sum_b weights[b] * band_losses[b]
};

// student, teacher: same shape (..., H, W), typically (B, C, H, W), same dtype (float32 or
// float64). The teacher is a target: it gets no gradient.
SpectralKDResult spectral_kd_loss(const Tensor& student, const Tensor& teacher, const SpectralKDOptions& options);

}  // namespace sdkd
