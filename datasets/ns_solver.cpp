// The pseudo-spectral Navier-Stokes stepper (both schemes). Double precision throughout: our
// double FFT is faster here than kissfft's float one (docs/ measure both), and double keeps
// the physics checks (exact decay factors, budgets) at round-off level.
#include <cmath>

#include "datasets/navier_stokes.hpp"
#include "kernels/cpu/fft.hpp"
#include "sdkd/error.hpp"

namespace sdkd::data {

using cpu::FftNorm;
using cplx = std::complex<double>;

NSScheme parse_ns_scheme(const std::string& name) {
  if (name == "fno") return NSScheme::fno;
  if (name == "ifrk4") return NSScheme::ifrk4;
  throw Error(str_cat("Navier-Stokes scheme: expected \"ifrk4\" or \"fno\", got \"", name, "\""));
}

NSSolver::NSSolver(int n, double viscosity, double dt, NSScheme scheme, const std::vector<double>& forcing)
    : n_(n), nc_(n / 2 + 1), nu_(viscosity), dt_(dt), scheme_(scheme) {
  SDKD_CHECK(n >= 4 && n % 2 == 0, "NSSolver: grid size must be even and >= 4, got ", n);
  SDKD_CHECK(viscosity >= 0 && std::isfinite(viscosity), "NSSolver: viscosity must be >= 0, got ", viscosity);
  SDKD_CHECK(dt > 0 && std::isfinite(dt), "NSSolver: dt must be > 0, got ", dt);
  SDKD_CHECK(forcing.size() == size_t(n) * n, "NSSolver: forcing must have n*n = ", size_t(n) * n,
             " values, got ", forcing.size());
  const size_t S = size_t(n_) * nc_;
  w_h_.assign(S, 0.0);
  f_h_.resize(S);
  cpu::rfft2(forcing.data(), f_h_.data(), 1, n_, n_, FftNorm::backward);
  lam_.resize(S);
  inv_lam_.resize(S);
  dkx_.resize(S);
  dky_.resize(S);
  mask_.resize(S);
  for (int r = 0; r < n_; ++r) {
    for (int c = 0; c < nc_; ++c) {
      const size_t i = size_t(r) * nc_ + c;
      const double kxr = kx(r), kyc = ky(c);
      lam_[i] = 4.0 * M_PI * M_PI * (kxr * kxr + kyc * kyc);
      inv_lam_[i] = lam_[i] > 0 ? 1.0 / lam_[i] : 0.0;
      dkx_[i] = 2.0 * M_PI * (r == n_ / 2 ? 0.0 : kxr);
      dky_[i] = 2.0 * M_PI * (c == n_ / 2 ? 0.0 : kyc);
      // FNO: |k| <= (2/3) k_max with k_max = n/2, i.e. 3|k| <= n.
      mask_[i] = (3 * std::abs(kx(r)) <= n_ && 3 * ky(c) <= n_) ? 1.0 : 0.0;
    }
  }
  if (scheme_ == NSScheme::fno) {
    cn_keep_.resize(S);
    cn_div_.resize(S);
    for (size_t i = 0; i < S; ++i) {
      const double a = 0.5 * dt_ * nu_ * lam_[i];
      cn_keep_[i] = 1.0 - a;
      cn_div_[i] = 1.0 / (1.0 + a);
    }
  } else {
    ef_full_.resize(S);
    ef_half_.resize(S);
    for (size_t i = 0; i < S; ++i) {
      ef_full_[i] = std::exp(-nu_ * lam_[i] * dt_);
      ef_half_[i] = std::exp(-0.5 * nu_ * lam_[i] * dt_);
    }
  }
  deriv_h_.resize(4 * S);
  deriv_.resize(4 * size_t(n_) * n_);
  product_.resize(size_t(n_) * n_);
  product_h_.resize(S);
}

void NSSolver::set_vorticity(const double* w) {
  cpu::rfft2(w, w_h_.data(), 1, n_, n_, FftNorm::backward);
  steps_ = 0;
}

void NSSolver::vorticity(double* w) const { cpu::irfft2(w_h_.data(), w, 1, n_, n_, FftNorm::backward); }

void NSSolver::tendency(const std::vector<cplx>& w_h, std::vector<cplx>& out) {
  const size_t S = size_t(n_) * nc_, P = size_t(n_) * n_;
  cplx* u_h = deriv_h_.data();
  cplx* v_h = u_h + S;
  cplx* wx_h = v_h + S;
  cplx* wy_h = wx_h + S;
  for (size_t i = 0; i < S; ++i) {
    const cplx w = w_h[i], psi = w * inv_lam_[i];
    const cplx i_psi(-psi.imag(), psi.real()), i_w(-w.imag(), w.real());  // i * psi, i * w
    u_h[i] = dky_[i] * i_psi;   // u = psi_y
    v_h[i] = -dkx_[i] * i_psi;  // v = -psi_x
    wx_h[i] = dkx_[i] * i_w;
    wy_h[i] = dky_[i] * i_w;
  }
  cpu::irfft2(deriv_h_.data(), deriv_.data(), 4, n_, n_, FftNorm::backward);
  const double* u = deriv_.data();
  const double* v = u + P;
  const double* wx = v + P;
  const double* wy = wx + P;
  for (size_t p = 0; p < P; ++p) product_[p] = u[p] * wx[p] + v[p] * wy[p];
  cpu::rfft2(product_.data(), product_h_.data(), 1, n_, n_, FftNorm::backward);
  out.resize(S);
  for (size_t i = 0; i < S; ++i) out[i] = f_h_[i] - mask_[i] * product_h_[i];
}

void NSSolver::step() {
  if (scheme_ == NSScheme::fno) step_fno();
  else step_ifrk4();
  ++steps_;
}

void NSSolver::advance(int64_t steps) {
  for (int64_t s = 0; s < steps; ++s) step();
}

// FNO: w' = (dt N(w) + (1 - dt nu lam / 2) w) / (1 + dt nu lam / 2).
void NSSolver::step_fno() {
  tendency(w_h_, k1_);
  for (size_t i = 0; i < w_h_.size(); ++i) w_h_[i] = (dt_ * k1_[i] + cn_keep_[i] * w_h_[i]) * cn_div_[i];
}

// Integrating-factor RK4 on v = e^{nu lam t} w, written back in w (E = e^{-nu lam dt},
// E2 = e^{-nu lam dt/2}): k1 = N(w), k2 = N(E2 (w + dt/2 k1)), k3 = N(E2 w + dt/2 k2),
// k4 = N(E w + dt E2 k3), w' = E w + dt/6 (E k1 + 2 E2 (k2 + k3) + k4).
void NSSolver::step_ifrk4() {
  const size_t S = w_h_.size();
  const double h = 0.5 * dt_;
  stage_.resize(S);
  tendency(w_h_, k1_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_half_[i] * (w_h_[i] + h * k1_[i]);
  tendency(stage_, k2_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_half_[i] * w_h_[i] + h * k2_[i];
  tendency(stage_, k3_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_full_[i] * w_h_[i] + dt_ * ef_half_[i] * k3_[i];
  tendency(stage_, k4_);
  const double sixth = dt_ / 6.0;
  for (size_t i = 0; i < S; ++i) {
    w_h_[i] = ef_full_[i] * w_h_[i] +
              sixth * (ef_full_[i] * k1_[i] + 2.0 * ef_half_[i] * (k2_[i] + k3_[i]) + k4_[i]);
  }
}

}  // namespace sdkd::data
