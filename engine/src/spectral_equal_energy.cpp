// Equal-energy band cutoffs from a spectrum (sdkd/spectral_loss.hpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/spectral_loss.hpp"

namespace sdkd {

BandSpec equal_energy_bands(const std::vector<double>& bin_energy, int64_t H, int64_t W, int K) {
  SDKD_CHECK(K >= 1, "equal-energy bands: expected K >= 1 bands, got ", K);
  SDKD_CHECK(H >= 1 && W >= 1, "equal-energy bands: expected H, W >= 1, got ", H, " x ", W);
  const int64_t Wc = W / 2 + 1;
  SDKD_CHECK(int64_t(bin_energy.size()) == H * Wc, "equal-energy bands: expected ", H * Wc,
             " half-spectrum bin energies for a ", H, " x ", W, " map, got ", bin_energy.size());
  // Bins by increasing rho.
  std::vector<double> rho(bin_energy.size());
  for (int64_t r = 0; r < H; ++r)
    for (int64_t kx = 0; kx < Wc; ++kx) rho[size_t(r * Wc + kx)] = normalised_wavenumber(r, kx, H, W);
  std::vector<size_t> order(rho.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rho[a] < rho[b]; });
  // Groups of equal rho: their largest rho (the cutoff that keeps the whole group below it)
  // and their energy.
  std::vector<double> group_rho, group_energy;
  double total = 0;
  for (size_t i : order) {
    const double e = bin_energy[i];
    SDKD_CHECK(std::isfinite(e) && e >= 0, "equal-energy bands: bin ", i, " has energy ", e,
               ", expected a finite value >= 0");
    if (group_rho.empty() || rho[i] > group_rho.back() + 1e-12) {
      group_rho.push_back(rho[i]);
      group_energy.push_back(0);
    }
    group_rho.back() = std::max(group_rho.back(), rho[i]);
    group_energy.back() += e;
    total += e;
  }
  SDKD_CHECK(int64_t(group_rho.size()) >= K, "equal-energy bands: a ", H, " x ", W, " map has ", group_rho.size(),
             " distinct wavenumbers, too few for ", K, " bands");
  SDKD_CHECK(std::isfinite(total) && total > 0, "equal-energy bands: the spectrum's energy is ", total,
             ", expected a finite value > 0");
  BandSpec spec;
  spec.cutoffs.clear();
  double cumulative = 0;
  size_t g = 0;
  for (int b = 1; b < K; ++b) {
    const double target = total * double(b) / double(K);
    // The first group not yet used whose cumulative energy reaches the target, leaving at
    // least one group for each band still to come.
    const size_t last_allowed = group_rho.size() - size_t(K - b) - 1;
    while (g < last_allowed && cumulative + group_energy[g] < target * (1 - 1e-12)) cumulative += group_energy[g++];
    cumulative += group_energy[g];
    // Midway to the next group: the same bins as group_rho[g] itself, but never 0 (a lowest
    // band of the DC bin alone) and far from any bin, so no rounding can move one across.
    spec.cutoffs.push_back(0.5 * (group_rho[g] + group_rho[g + 1]));
    ++g;
  }
  (void)band_count(spec);  // strictly increasing and positive by construction; checked anyway
  return spec;
}

BandSpec equal_energy_bands(const Tensor& maps, int K) {
  SDKD_CHECK(maps.dim() >= 2, "equal-energy bands: expected maps (..., H, W), got ", maps.str());
  NoGradGuard ng;
  const int64_t H = maps.size(-2), W = maps.size(-1), Wc = W / 2 + 1;
  const Tensor spectrum = rfft2(maps.detach().to(Device{}).to(DType::f64), FftNorm::ortho);  // (..., H, Wc, 2), host
  const std::vector<double> v = spectrum.to_double_vector();
  const size_t bins = size_t(H * Wc);
  std::vector<double> energy(bins, 0.0);
  for (size_t i = 0; i < v.size() / 2; ++i) {
    const size_t k = i % bins;
    energy[k] += double(half_spectrum_weight(int64_t(k) % Wc, W)) * (v[2 * i] * v[2 * i] + v[2 * i + 1] * v[2 * i + 1]);
  }
  return equal_energy_bands(energy, H, W, K);
}

}  // namespace sdkd
