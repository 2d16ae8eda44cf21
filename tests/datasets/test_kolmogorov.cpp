// The second flow, Kolmogorov forcing (datasets/navier_stokes.hpp), against what is known
// about it: the forcing is the curl of the shear body force (finite differences), the laminar
// shear flow is an exact steady state (no advection, the solver's fixed point), the energy
// method's bound makes every perturbation decay at low Reynolds number, and far above the
// instability threshold a tiny perturbation grows by orders of magnitude.
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <vector>

#include "common/numeric.hpp"
#include "sdkd/datasets/navier_stokes.hpp"
#include "kernels/cpu/fft.hpp"

using namespace sdkd::data;
using sdkd::test::rel_l2;
using cd = std::complex<double>;

namespace {

NSConfig kolmogorov(double viscosity, double amplitude, int wavenumber = 4) {
  NSConfig c;
  c.forcing = "kolmogorov";
  c.viscosity = viscosity;
  c.forcing_amplitude = amplitude;
  c.forcing_wavenumber = wavenumber;
  return c;
}

// Kinetic energy <|u|^2> / 2 of a vorticity field on the unit torus: sum over modes of
// |w_k|^2 / (2 |2 pi k|^2), from the unnormalised half spectrum (self-conjugate columns once).
double kinetic_energy(const std::vector<double>& w, int n) {
  const int nc = n / 2 + 1;
  std::vector<cd> h(size_t(n) * nc);
  sdkd::cpu::rfft2(w.data(), h.data(), 1, n, n, sdkd::cpu::FftNorm::backward);
  double e = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < nc; ++c) {
      const int kx = r < n / 2 ? r : r - n;
      if (kx == 0 && c == 0) continue;
      const double lam = 4 * M_PI * M_PI * (double(kx) * kx + double(c) * c);
      e += (c == 0 || c == n / 2 ? 1.0 : 2.0) * std::norm(h[size_t(r) * nc + c]) / (2 * lam);
    }
  return e / std::pow(double(n), 4);
}

// The laminar state plus eps times a random field (the GRF of trajectory 0).
std::vector<double> perturbed_laminar(const NSConfig& cfg, int n, double eps) {
  std::vector<double> w = kolmogorov_laminar(cfg, n);
  const auto noise = grf_sample(NSConfig{}, 0, n);
  for (size_t i = 0; i < w.size(); ++i) w[i] += eps * noise[i];
  return w;
}

double perturbation_energy(const NSSolver& solver, const std::vector<double>& laminar, int n) {
  std::vector<double> w(laminar.size());
  solver.vorticity(w.data());
  for (size_t i = 0; i < w.size(); ++i) w[i] -= laminar[i];
  return kinetic_energy(w, n);
}

}  // namespace

TEST_CASE("Kolmogorov forcing is the curl of the body force (a sin(2 pi m y), 0)", "[ns][kolmogorov]") {
  const int n = 256;
  const NSConfig cfg = kolmogorov(1e-3, 0.3, 3);
  const auto f = ns_forcing(cfg, n);
  // f = d/dx F_y - d/dy F_x with F_x = a sin(2 pi m y), F_y = 0, by central differences along y.
  const double h = 1.0 / n;
  std::vector<double> fd(size_t(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      auto Fx = [&](int jj) { return 0.3 * std::sin(2 * M_PI * 3 * double(jj) * h); };
      fd[size_t(i) * n + j] = -(Fx(j + 1) - Fx(j - 1)) / (2 * h);
    }
  CHECK(rel_l2(f, fd) < 1e-3);  // O(h^2 (2 pi m)^2 / 6)
  CHECK(rel_l2(f, fd) > 1e-6);  // and not the same formula twice
  // FNO's forcing stays the default.
  CHECK(ns_forcing(NSConfig{}, 16) == ns_forcing(16, 0.1));
}

TEST_CASE("Kolmogorov laminar flow: no advection, the solver's steady state", "[ns][kolmogorov]") {
  const int n = 32;
  const NSConfig cfg = kolmogorov(1e-2, 0.2);
  const auto w_l = kolmogorov_laminar(cfg, n), f = ns_forcing(cfg, n);
  // nu lap(w_L) = -f by the spectral Laplacian: the tendency without diffusion is f alone
  // (u.grad(w_L) = 0 on the grid, to round-off).
  NSSolver probe(n, cfg.viscosity, 0.01, NSScheme::ifrk4, f);
  const int nc = n / 2 + 1;
  std::vector<cd> w_h(size_t(n) * nc), f_h(size_t(n) * nc), tend;
  sdkd::cpu::rfft2(w_l.data(), w_h.data(), 1, n, n, sdkd::cpu::FftNorm::backward);
  sdkd::cpu::rfft2(f.data(), f_h.data(), 1, n, n, sdkd::cpu::FftNorm::backward);
  probe.tendency(w_h, tend);
  CHECK(rel_l2(tend, f_h) < 1e-12);
  // Crank-Nicolson keeps nu k^2 w = f exactly; RK4's integrating factor has the steady state
  // f s / (1 - E) with Simpson's s, O((nu k^2 dt)^4) from it.
  for (auto [scheme, tol] : {std::pair{NSScheme::fno, 1e-12}, std::pair{NSScheme::ifrk4, 1e-7}}) {
    NSSolver solver(n, cfg.viscosity, 0.01, scheme, f);
    solver.set_vorticity(w_l.data());
    solver.advance(300);
    std::vector<double> w(w_l.size());
    solver.vorticity(w.data());
    INFO("scheme " << int(scheme));
    CHECK(rel_l2(w, w_l) < tol);
  }
  // Re = U / (nu 2 pi m) with U = a / (nu (2 pi m)^2).
  const double k = 8 * M_PI, U = 0.2 / (1e-2 * k * k);
  CHECK(kolmogorov_reynolds(cfg) == Approx(U / (1e-2 * k)).epsilon(1e-12));
}

TEST_CASE("Kolmogorov flow at low Re: every perturbation decays at least at the energy method's rate", "[ns][kolmogorov]") {
  // dE'/dt = -<u'_x u'_y dU/dy> - nu <|grad u'|^2> <= (max|dU/dy| - 2 nu (2 pi)^2) E' for any
  // perturbation, nonlinear terms included (they conserve E'); max|dU/dy| = a / (nu 2 pi m).
  const int n = 32;
  const NSConfig cfg = kolmogorov(2e-2, 0.1);
  const double rate = 0.1 / (2e-2 * 8 * M_PI) - 2 * 2e-2 * 4 * M_PI * M_PI;
  REQUIRE(rate < -1.0);
  const auto w_l = kolmogorov_laminar(cfg, n);
  NSSolver solver(n, cfg.viscosity, 0.01, NSScheme::ifrk4, ns_forcing(cfg, n));
  solver.set_vorticity(perturbed_laminar(cfg, n, 0.5).data());  // not small: the bound holds for any size
  const double e0 = perturbation_energy(solver, w_l, n);
  REQUIRE(e0 > 0);
  for (int s = 1; s <= 4; ++s) {
    solver.advance(50);
    const double t = 0.5 * s, e = perturbation_energy(solver, w_l, n);
    INFO("t " << t);
    CHECK(e <= e0 * std::exp(rate * t) * (1 + 1e-6));
  }
}

TEST_CASE("Kolmogorov flow far above the threshold: a tiny perturbation grows by orders of magnitude", "[ns][kolmogorov]") {
  // Re = 20 at wavenumber 4 on the unit torus, far above the laminar flow's threshold (of
  // order one: sqrt 2 in the long-wave limit); the low-Re case above is the same code, decaying.
  const int n = 32;
  const double nu = 2e-3, k = 8 * M_PI;
  const NSConfig cfg = kolmogorov(nu, 20 * nu * nu * k * k * k);
  REQUIRE(kolmogorov_reynolds(cfg) == Approx(20));
  const auto w_l = kolmogorov_laminar(cfg, n);
  NSSolver solver(n, cfg.viscosity, 0.01, NSScheme::ifrk4, ns_forcing(cfg, n));
  solver.set_vorticity(perturbed_laminar(cfg, n, 1e-8).data());
  const double e0 = perturbation_energy(solver, w_l, n);
  solver.advance(500);
  const double e5 = perturbation_energy(solver, w_l, n);
  INFO("E'(0) " << e0 << " E'(5) " << e5);
  CHECK(e5 > 1e3 * e0);
}

TEST_CASE("Kolmogorov presets and checks", "[ns][kolmogorov]") {
  const NSConfig c = ns_preset("kolmogorov-demo");
  CHECK(c.forcing == "kolmogorov");
  CHECK(c.resolution == ns_preset("demo").resolution);
  CHECK(kolmogorov_reynolds(c) == Approx(0.05 / (25e-8 * std::pow(8 * M_PI, 3))));
  CHECK(kolmogorov_reynolds(c) > 10);
  validate(c);
  validate(ns_preset("kolmogorov-smoke"));
  NSConfig bad = c;
  bad.forcing = "taylor";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("forcing must be \"fno\" or \"kolmogorov\", got 'taylor'"));
  bad = c;
  bad.forcing_wavenumber = 30;
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("forcing_wavenumber must be in [1, solve_resolution / 3]"));
  CHECK_THROWS_WITH(kolmogorov_laminar(NSConfig{}, 8), Catch::Contains("not \"kolmogorov\""));
}
