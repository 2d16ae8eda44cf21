// Initial fields and forcing of the Navier-Stokes generator (FNO's recipe, see the header).
#include <cmath>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/error.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/rng.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

namespace {

// Random streams of the generator: one per trajectory, tagged so that they never coincide
// with other users of the same seed (splits, shuffles, initialisation).
constexpr uint64_t kGrfStreamTag = uint64_t(0x4E53) << 48;  // "NS"

// Grid index -> wavenumber in [-n/2, n/2), as FNO's torch.cat((arange(0, n/2), arange(-n/2, 0))).
int wavenumber(int index, int n) { return index < n / 2 ? index : index - n; }

// The standard complex normal of mode (kx, ky): its counter depends on the wavenumber only.
std::complex<double> mode_normal(uint64_t seed, uint64_t stream, int kx, int ky) {
  const uint64_t id = (uint64_t(int64_t(kx) + (1 << 20)) << 21) | uint64_t(int64_t(ky) + (1 << 20));
  const double s = std::sqrt(0.5);
  return {s * Philox::normal(seed, stream, 2 * id), s * Philox::normal(seed, stream, 2 * id + 1)};
}

}  // namespace

std::vector<double> grf_sample(const NSConfig& cfg, int64_t trajectory, int n) {
  SDKD_CHECK(n >= 2, "grf_sample: grid size must be >= 2, got ", n);
  SDKD_CHECK(trajectory >= 0, "grf_sample: trajectory index must be >= 0, got ", trajectory);
  const uint64_t stream = kGrfStreamTag ^ uint64_t(trajectory);
  const int nc = n / 2 + 1;
  auto coeff = [&](int r, int c) {  // a_k of FNO's full spectrum, without its n^2
    const int kx = wavenumber(r, n), ky = wavenumber(c, n);
    if (kx == 0 && ky == 0) return std::complex<double>(0.0);
    const double k2 = double(kx) * kx + double(ky) * ky;
    const double amp = std::sqrt(2.0) * cfg.grf_sigma * std::pow(4.0 * M_PI * M_PI * k2 + cfg.grf_tau * cfg.grf_tau,
                                                                  -0.5 * cfg.grf_alpha);
    return amp * mode_normal(cfg.seed, stream, kx, ky);
  };
  // Re(ifft2(a)) has the Hermitian half spectrum (a_k + conj(a_{-k})) / 2.
  std::vector<std::complex<double>> half(size_t(n) * nc);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < nc; ++c)
      half[size_t(r) * nc + c] = 0.5 * (coeff(r, c) + std::conj(coeff((n - r) % n, (n - c) % n)));
  // FNO's ifft divides by n^2 and its sqrt_eig multiplies by n^2: no factor at all.
  const double* re_im = reinterpret_cast<const double*>(half.data());
  const Tensor spectrum = Tensor::from_vector(std::vector<double>(re_im, re_im + 2 * half.size()), {n, nc, 2});
  return irfft2(spectrum, n, FftNorm::forward).to_double_vector();
}

std::vector<double> ns_forcing(int n, double amplitude) {
  SDKD_CHECK(n >= 1, "ns_forcing: grid size must be >= 1, got ", n);
  std::vector<double> f(size_t(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double phase = 2.0 * M_PI * (double(i) + double(j)) / double(n);  // 2 pi (x + y)
      f[size_t(i) * n + j] = amplitude * (std::sin(phase) + std::cos(phase));
    }
  return f;
}

std::vector<double> ns_forcing(const NSConfig& cfg, int n) {
  if (cfg.forcing == "fno") return ns_forcing(n, cfg.forcing_amplitude);
  SDKD_CHECK(cfg.forcing == "kolmogorov", "Navier-Stokes config: forcing must be \"fno\" or \"kolmogorov\", got '",
             cfg.forcing, "'");
  SDKD_CHECK(n >= 1, "ns_forcing: grid size must be >= 1, got ", n);
  const double k = 2.0 * M_PI * cfg.forcing_wavenumber;
  std::vector<double> f(size_t(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)  // axis 1 is y
      f[size_t(i) * n + j] = -k * cfg.forcing_amplitude * std::cos(k * double(j) / double(n));
  return f;
}

std::vector<double> kolmogorov_laminar(const NSConfig& cfg, int n) {
  SDKD_CHECK(cfg.forcing == "kolmogorov", "kolmogorov_laminar: the config's forcing is '", cfg.forcing,
             "', not \"kolmogorov\"");
  const double k = 2.0 * M_PI * cfg.forcing_wavenumber;
  std::vector<double> w = ns_forcing(cfg, n);
  for (double& v : w) v /= cfg.viscosity * k * k;
  return w;
}

double kolmogorov_reynolds(const NSConfig& cfg) {
  const double k = 2.0 * M_PI * cfg.forcing_wavenumber;
  return std::abs(cfg.forcing_amplitude) / (cfg.viscosity * cfg.viscosity * k * k * k);
}

}  // namespace sdkd::data
