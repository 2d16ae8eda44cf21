// Physics checks of the Navier-Stokes generator (SPEC §1). Each compares the solver with an
// exact solution, a hand-derived formula or an identity computed another way.
//
// Conventions for the budgets: <g> is the grid mean, psi solves -lap(psi) = w, u = (psi_y, -psi_x),
//   E = <|u|^2> / 2 = <psi w> / 2,   Z = <w^2> / 2,   P = <|grad w|^2> / 2,
// so that dE/dt = -2 nu Z + <psi f> and dZ/dt = -2 nu P + <w f> (the nonlinear term moves
// energy and enstrophy between scales but creates neither). With unnormalised half spectra,
// <g h> = sum_k c_k Re(G_k conj(H_k)) / n^4, c_k = 1 on the self-conjugate columns, 2 elsewhere.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <complex>
#include <vector>

#include "common/numeric.hpp"
#include "common/toy.hpp"
#include "sdkd/datasets/navier_stokes.hpp"
#include "kernels/cpu/fft.hpp"
#include "sdkd/error.hpp"

using namespace sdkd::data;
using sdkd::test::rel_l2;
using sdkd::cpu::FftNorm;
using cd = std::complex<double>;

namespace {

std::vector<double> grid(int n, double (*fn)(double x, double y)) {
  std::vector<double> w(size_t(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) w[size_t(i) * n + j] = fn(double(i) / n, double(j) / n);
  return w;
}

std::vector<cd> spectrum_of(const std::vector<double>& w, int n) {
  std::vector<cd> h(size_t(n) * (n / 2 + 1));
  sdkd::cpu::rfft2(w.data(), h.data(), 1, n, n, FftNorm::backward);
  return h;
}

int wavenumber(int index, int n) { return index < n / 2 ? index : index - n; }

// <g h> from half spectra (see the header comment), with a per-mode weight.
template <typename Weight>
double mean_product(const std::vector<cd>& g, const std::vector<cd>& h, int n, Weight weight) {
  const int nc = n / 2 + 1;
  double s = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < nc; ++c) {
      const size_t i = size_t(r) * nc + c;
      const double mult = (c == 0 || c == n / 2) ? 1.0 : 2.0;
      s += mult * weight(wavenumber(r, n), c) * (g[i] * std::conj(h[i])).real();
    }
  return s / std::pow(double(n), 4);
}

double lam(int kx, int ky) { return 4.0 * M_PI * M_PI * (double(kx) * kx + double(ky) * ky); }

struct Budget {
  double E, Z, P, psi_f, w_f;
};

Budget budget(const std::vector<cd>& w_h, const std::vector<cd>& f_h, int n) {
  auto inv_lam = [](int kx, int ky) { return kx == 0 && ky == 0 ? 0.0 : 1.0 / lam(kx, ky); };
  auto one = [](int, int) { return 1.0; };
  return {0.5 * mean_product(w_h, w_h, n, inv_lam), 0.5 * mean_product(w_h, w_h, n, one),
          0.5 * mean_product(w_h, w_h, n, lam), mean_product(w_h, f_h, n, inv_lam), mean_product(w_h, f_h, n, one)};
}

NSConfig tiny_config() {
  NSConfig c = sdkd::test::tiny_ns_config(3, 0.02, 0.1);
  c.seed = 7;
  return c;
}

}  // namespace

TEST_CASE("NS presets: the paper's settings, and unknown names list the valid ones", "[ns]") {
  const auto fno = ns_preset("fno-1e-5");
  CHECK(fno.viscosity == 1e-5);
  CHECK(fno.trajectories == 1200);
  CHECK(fno.frames == 20);
  CHECK(fno.solve_resolution == 256);
  CHECK(fno.resolution == 64);
  CHECK(fno.dt == 1e-4);
  CHECK(fno.scheme == "fno");
  // FNO's ns_2d.py for the V1e-5 T20 file: navier_stokes_2d(w0, f, 1e-5, T = 20, delta_t = 1e-4,
  // record_steps = 20), i.e. one frame per time unit at t = 1..20, f = 0.1 (sin + cos), GRF
  // alpha 2.5 tau 7: 2e5 steps per trajectory, 1e4 between frames.
  CHECK(fno.frame_interval == 1.0);
  CHECK(std::llround(fno.frames * fno.frame_interval / fno.dt) == 200000);
  CHECK(fno.forcing_amplitude == 0.1);
  CHECK(fno.grf_alpha == 2.5);
  CHECK(fno.grf_tau == 7.0);
  CHECK(ns_preset("fno-1e-4").frames == 30);
  CHECK(ns_preset("fno-1e-4").viscosity == 1e-4);
  CHECK(ns_preset("fno-1e-3").frames == 50);
  CHECK(ns_preset("fno-1e-3").viscosity == 1e-3);
  CHECK(fno.grf_sigma == Approx(std::pow(7.0, 1.5)).epsilon(1e-15));
  for (const auto& name : ns_preset_names()) CHECK_NOTHROW(validate(ns_preset(name)));
  CHECK_THROWS_WITH(ns_preset("fno-1e-6"), Catch::Contains("fno-1e-6") && Catch::Contains("smoke") &&
                                               Catch::Contains("demo") && Catch::Contains("fno-1e-3"));
}

TEST_CASE("NS validate rejects bad configs with messages naming the field", "[ns]") {
  auto bad = [](auto edit) {
    NSConfig c = ns_preset("smoke");
    edit(c);
    return c;
  };
  using Catch::Contains;
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.resolution = 24; })), Contains("must divide solve_resolution"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.dt = 0; })), Contains("dt must be > 0"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.dt = 0.05; })), Contains("CFL") && Contains("dt <="));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) {
                      c.scheme = "fno";
                      c.dt = 0.01;
                    })),
                    Contains("CFL") && Contains("ifrk4"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.frame_interval = 0.03; })), Contains("whole number of steps"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.scheme = "euler"; })), Contains("\"euler\"") && Contains("ifrk4"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.viscosity = 0; })), Contains("viscosity"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.frames = 0; })), Contains("frames"));
  CHECK_THROWS_WITH(validate(bad([](NSConfig& c) { c.solve_resolution = 33; c.resolution = 33; })),
                    Contains("even"));
  std::vector<float> out(1);
  CHECK_THROWS_AS(generate_ns(bad([](NSConfig& c) { c.trajectories = 0; }), out.data()), sdkd::Error);
}

TEST_CASE("GRF: mode variance is sigma^2 (4 pi^2 |k|^2 + tau^2)^-alpha, pointwise std about 0.185", "[ns]") {
  const NSConfig cfg;
  // Pointwise variance = sum over k != 0 of the mode variance; at 64^2 it is SPEC's 0.185^2.
  auto mode_var = [&](int kx, int ky) {
    return cfg.grf_sigma * cfg.grf_sigma * std::pow(lam(kx, ky) + cfg.grf_tau * cfg.grf_tau, -cfg.grf_alpha);
  };
  double expected_var = 0;
  for (int a = -32; a < 32; ++a)
    for (int b = -32; b < 32; ++b)
      if (a != 0 || b != 0) expected_var += mode_var(a, b);
  CHECK(std::sqrt(expected_var) == Approx(0.185).epsilon(0.01));

  // Empirical mode variances on the first shells (n = 16, many samples: 1/sqrt(2 * 600) ~ 3 %).
  const int n = 16, nc = n / 2 + 1, samples = 600;
  const int shell_modes[][2] = {{1, 0}, {0, 1}, {1, 1}, {-1, 1}, {2, 1}, {-2, 1}, {1, 2}, {-1, 2}};
  std::vector<double> power(std::size(shell_modes), 0.0);
  double pointwise = 0;
  for (int s = 0; s < samples; ++s) {
    const auto w = grf_sample(cfg, s, n);
    const auto h = spectrum_of(w, n);
    for (size_t m = 0; m < power.size(); ++m) {
      const int kx = shell_modes[m][0], ky = shell_modes[m][1];
      power[m] += std::norm(h[size_t((kx + n) % n) * nc + ky]) / std::pow(double(n), 4) / samples;
    }
    for (double v : w) pointwise += v * v / (double(samples) * n * n);
  }
  // Pairs of modes on the same shell share one variance: 2 * 600 draws per pair.
  for (size_t m = 0; m < power.size(); m += 2) {
    const double got = 0.5 * (power[m] + power[m + 1]);
    INFO("mode (" << shell_modes[m][0] << ", " << shell_modes[m][1] << ")");
    CHECK(got == Approx(mode_var(shell_modes[m][0], shell_modes[m][1])).epsilon(0.12));
  }
  double var16 = 0;
  for (int a = -8; a < 8; ++a)
    for (int b = -8; b < 8; ++b)
      if (a != 0 || b != 0) var16 += mode_var(a, b);
  CHECK(pointwise == Approx(var16).epsilon(0.08));
}

TEST_CASE("GRF: reproducible per trajectory, different across trajectories, same low modes at any grid", "[ns]") {
  NSConfig cfg;
  cfg.seed = 11;
  const auto a = grf_sample(cfg, 5, 16), b = grf_sample(cfg, 5, 16), c = grf_sample(cfg, 6, 16);
  CHECK(a == b);
  CHECK(rel_l2(a, c) > 0.5);
  cfg.seed = 12;
  CHECK(rel_l2(grf_sample(cfg, 5, 16), a) > 0.5);
  cfg.seed = 11;
  const auto coarse = spectrum_of(a, 16), fine = spectrum_of(grf_sample(cfg, 5, 32), 32);
  double max_err = 0, max_val = 0;
  for (int kx = -7; kx <= 7; ++kx)
    for (int ky = 0; ky <= 7; ++ky) {
      const cd u = coarse[size_t((kx + 16) % 16) * 9 + ky] / 256.0, v = fine[size_t((kx + 32) % 32) * 17 + ky] / 1024.0;
      max_err = std::max(max_err, std::abs(u - v));
      max_val = std::max(max_val, std::abs(v));
    }
  CHECK(max_err < 1e-12 * max_val);
}

TEST_CASE("NS nonlinear term equals the hand-derived u.grad(w) for two shells", "[ns]") {
  // w = A cos(2 pi x) + B cos(4 pi y): psi = A cos(2 pi x)/(4 pi^2) + B cos(4 pi y)/(16 pi^2),
  // u = psi_y = -B sin(4 pi y)/(4 pi), v = -psi_x = A sin(2 pi x)/(2 pi), so
  // u.grad(w) = (AB/2 - 2AB) sin(2 pi x) sin(4 pi y) and the tendency is +1.5 AB sin sin.
  const int n = 16;
  NSSolver solver(n, 1e-3, 0.01, NSScheme::ifrk4, std::vector<double>(size_t(n) * n, 0.0));
  const auto w = grid(n, [](double x, double y) { return 0.7 * std::cos(2 * M_PI * x) + 1.3 * std::cos(4 * M_PI * y); });
  std::vector<cd> tend;
  solver.tendency(spectrum_of(w, n), tend);
  std::vector<double> got(size_t(n) * n);
  sdkd::cpu::irfft2(tend.data(), got.data(), 1, n, n, FftNorm::backward);
  const auto want = grid(n, [](double x, double y) { return 1.5 * 0.7 * 1.3 * std::sin(2 * M_PI * x) * std::sin(4 * M_PI * y); });
  CHECK(rel_l2(got, want) < 1e-12);
}

TEST_CASE("NS nonlinear term is cut to FNO's 2/3 square and has zero mean", "[ns]") {
  const int n = 32, nc = 17;
  NSSolver solver(n, 1e-3, 0.01, NSScheme::fno, std::vector<double>(size_t(n) * n, 0.0));
  const auto w = grf_sample(NSConfig{}, 0, n);
  std::vector<cd> tend;
  solver.tendency(spectrum_of(w, n), tend);
  double inside = 0, outside = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < nc; ++c) {
      const bool kept = 3 * std::abs(wavenumber(r, n)) <= n && 3 * c <= n;  // |k| <= (2/3)(n/2)
      (kept ? inside : outside) += std::norm(tend[size_t(r) * nc + c]);
    }
  CHECK(outside == 0.0);
  CHECK(inside > 0.0);
  CHECK(std::abs(tend[0]) < 1e-12 * std::sqrt(inside));
}

TEST_CASE("NS single shell decays by the scheme's factor each step", "[ns]") {
  // A single shell |k|^2 = 9 (modes (3,0) and (0,3)): u.grad(w) vanishes, only diffusion acts.
  const int n = 16, steps = 40;
  const double nu = 2e-3, dt = 0.01, lambda = lam(3, 0);
  const auto w0 = grid(n, [](double x, double y) { return std::cos(6 * M_PI * x) + 0.5 * std::sin(6 * M_PI * y); });
  const std::vector<double> no_force(size_t(n) * n, 0.0);
  const double g = (1 - 0.5 * dt * nu * lambda) / (1 + 0.5 * dt * nu * lambda);
  const double e = std::exp(-nu * lambda * dt);
  for (auto [scheme, factor] : {std::pair{NSScheme::fno, g}, std::pair{NSScheme::ifrk4, e}}) {
    NSSolver solver(n, nu, dt, scheme, no_force);
    solver.set_vorticity(w0.data());
    solver.advance(steps);
    std::vector<double> w(size_t(n) * n), want(w0);
    solver.vorticity(w.data());
    for (auto& v : want) v *= std::pow(factor, steps);
    INFO("scheme " << int(scheme));
    CHECK(rel_l2(w, want) < 1e-12);
  }
  CHECK(std::pow(g, steps) < 0.95);  // the decay is large enough to tell the factors apart
  CHECK(std::abs(g - e) > 1e-9);
}

TEST_CASE("NS forced flow from rest follows the scheme's exact recursion", "[ns]") {
  // f lives on the shell |k|^2 = 2, so w stays proportional to f and advection vanishes:
  // fno:   w_n = f (1 - g^n) / (nu lam)             with nu lam = 8 pi^2 nu (SPEC's formula);
  // ifrk4: w_n = f (1 - E^n) s / (1 - E),  s = dt (E + 4 sqrt(E) + 1) / 6 (Simpson's rule for
  //        the exact integral of e^{-nu lam t}, which gives f (1 - E^n) / (nu lam)).
  const int n = 16, steps = 60;
  const double nu = 1e-2, dt = 0.01, nl = nu * 8 * M_PI * M_PI;
  const auto f = ns_forcing(n, 0.1);
  const std::vector<double> zero(size_t(n) * n, 0.0);
  const double g = (1 - 0.5 * dt * nl) / (1 + 0.5 * dt * nl), E = std::exp(-nl * dt);
  const double fno_amp = (1 - std::pow(g, steps)) / nl;
  const double rk_amp = (1 - std::pow(E, steps)) * dt * (E + 4 * std::sqrt(E) + 1) / 6 / (1 - E);
  for (auto [scheme, amp] : {std::pair{NSScheme::fno, fno_amp}, std::pair{NSScheme::ifrk4, rk_amp}}) {
    NSSolver solver(n, nu, dt, scheme, f);
    solver.set_vorticity(zero.data());
    solver.advance(steps);
    std::vector<double> w(size_t(n) * n), want(f);
    solver.vorticity(w.data());
    for (auto& v : want) v *= amp;
    INFO("scheme " << int(scheme));
    CHECK(rel_l2(w, want) < 1e-12);
  }
  // Both are close to the exact solution f (1 - e^{-nu lam t}) / (nu lam): CN to O(dt^2), RK4 to O(dt^4).
  const double exact = (1 - std::exp(-nl * dt * steps)) / nl;
  CHECK(std::abs(fno_amp - exact) < 1e-4 * exact);
  CHECK(std::abs(rk_amp - exact) < 1e-9 * exact);
  CHECK(std::abs(rk_amp - fno_amp) > 1e-7 * exact);
}

TEST_CASE("NS energy and enstrophy budgets hold and the mean stays zero", "[ns]") {
  // A band-limited start (inside the 2/3 square) keeps the truncation Galerkin-exact, so the
  // nonlinear term conserves E and Z and only viscosity and forcing change them.
  const int n = 32, nc = 17;
  const double nu = 2e-3;
  auto w_h = spectrum_of(grf_sample(NSConfig{}, 3, n), n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < nc; ++c)
      if (3 * std::abs(wavenumber(r, n)) > n || 3 * c > n) w_h[size_t(r) * nc + c] = 0;
  std::vector<double> w0(size_t(n) * n);
  sdkd::cpu::irfft2(w_h.data(), w0.data(), 1, n, n, FftNorm::backward);
  for (auto& v : w0) v *= 4.0;  // stronger than the default field: a lively nonlinear term
  const auto f = ns_forcing(n, 0.5);
  const auto f_h = spectrum_of(f, n);

  for (auto [scheme, dt, tol] : {std::tuple{NSScheme::ifrk4, 1e-3, 1e-5}, std::tuple{NSScheme::fno, 2e-4, 5e-4}}) {
    NSSolver solver(n, nu, dt, scheme, f);
    solver.set_vorticity(w0.data());
    const int steps = int(std::lround(0.2 / dt));
    std::vector<Budget> b;
    double max_mean = 0;
    for (int s = 0; s <= steps; ++s) {
      if (s > 0) solver.step();
      b.push_back(budget(solver.spectrum(), f_h, n));
      max_mean = std::max(max_mean, std::abs(solver.spectrum()[0]) / (n * n));
    }
    INFO("scheme " << int(scheme));
    CHECK(max_mean < 1e-13);
    double worst_e = 0, worst_z = 0, scale_e = 0, scale_z = 0;
    for (int s = 1; s < steps; s += 5) {
      const double dE = (b[s + 1].E - b[s - 1].E) / (2 * dt), dZ = (b[s + 1].Z - b[s - 1].Z) / (2 * dt);
      const double rhs_e = -2 * nu * b[s].Z + b[s].psi_f, rhs_z = -2 * nu * b[s].P + b[s].w_f;
      worst_e = std::max(worst_e, std::abs(dE - rhs_e));
      worst_z = std::max(worst_z, std::abs(dZ - rhs_z));
      scale_e = std::max({scale_e, std::abs(2 * nu * b[s].Z), std::abs(b[s].psi_f)});
      scale_z = std::max({scale_z, std::abs(2 * nu * b[s].P), std::abs(b[s].w_f)});
    }
    CHECK(worst_e < tol * scale_e);
    CHECK(worst_z < tol * scale_z);
    // The flow is not trivial: the enstrophy cascade changes P by a good fraction.
    CHECK(std::abs(b.back().P - b.front().P) > 0.05 * b.front().P);
  }
}

TEST_CASE("NS ifrk4 (dt 0.01) agrees with the fno scheme (dt 1e-4) up to t = 0.5 at 64^2", "[ns]") {
  const int n = 64;
  NSConfig cfg;
  const auto f = ns_forcing(n, 0.1);
  const auto w0 = grf_sample(cfg, 1, n);
  NSSolver fno(n, 1e-5, 1e-4, NSScheme::fno, f), rk(n, 1e-5, 0.01, NSScheme::ifrk4, f);
  fno.set_vorticity(w0.data());
  rk.set_vorticity(w0.data());
  fno.advance(5000);
  rk.advance(50);
  std::vector<double> a(size_t(n) * n), b(size_t(n) * n);
  fno.vorticity(a.data());
  rk.vorticity(b.data());
  CHECK(fno.time() == Approx(rk.time()));
  const double diff = rel_l2(a, b);
  CHECK(diff < 1e-4);  // measured 3e-6: Euler-in-time error of fno at dt 1e-4
  CHECK(rel_l2(w0, b) > 0.1);  // the flow moved much more than the schemes differ
}

TEST_CASE("NS frames are the solver's state at t = 1..T, subsampled every k-th point", "[ns]") {
  const NSConfig cfg = tiny_config();
  std::vector<float> out(size_t(cfg.trajectories) * cfg.frames * 16 * 16);
  generate_ns(cfg, out.data());
  const int n = 32;
  NSSolver solver(n, cfg.viscosity, cfg.dt, NSScheme::ifrk4, ns_forcing(n, cfg.forcing_amplitude));
  const auto w0 = grf_sample(cfg, 2, n);
  solver.set_vorticity(w0.data());
  std::vector<double> w(size_t(n) * n);
  double max_err = 0;
  for (int t = 0; t < cfg.frames; ++t) {
    solver.advance(5);  // frame_interval 0.1 / dt 0.02
    solver.vorticity(w.data());
    for (int a = 0; a < 16; ++a)
      for (int b = 0; b < 16; ++b) {
        const float got = out[((size_t(2) * cfg.frames + t) * 16 + a) * 16 + b];
        max_err = std::max(max_err, std::abs(double(got) - w[size_t(2 * a) * n + 2 * b]));
      }
  }
  CHECK(max_err < 1e-6);
}

TEST_CASE("NS trajectories are identical whatever the thread count and batch", "[ns]") {
  NSConfig cfg = tiny_config();
  const size_t per = size_t(cfg.frames) * 16 * 16;
  std::vector<float> one(cfg.trajectories * per), two(cfg.trajectories * per);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  generate_ns(cfg, one.data());
  omp_set_num_threads(2);
  int64_t calls = 0, last = 0;
  generate_ns(cfg, two.data(), [&](int64_t done, int64_t total) {
    ++calls;
    CHECK(done == last + 1);
    CHECK(total == cfg.trajectories);
    last = done;
  });
  omp_set_num_threads(saved);
  CHECK(one == two);
  CHECK(calls == cfg.trajectories);
  cfg.trajectories = 5;
  std::vector<float> five(5 * per);
  generate_ns(cfg, five.data());
  CHECK(std::equal(one.begin(), one.end(), five.begin()));
}

TEST_CASE("NS at nu = 1e-5 grows its vorticity std like SPEC's data (32^2 smoke grid)", "[ns]") {
  // The forced k = (1,1) shell grows like f t (std 0.1 t) and the nonlinear term takes part of
  // it away: FNO's data have std about 0.95 at t = 10 and 1.85 at t = 20 (64^2 numbers are in docs/).
  NSConfig cfg = ns_preset("smoke");
  cfg.trajectories = 4;
  std::vector<float> out(size_t(cfg.trajectories) * cfg.frames * 32 * 32);
  generate_ns(cfg, out.data());
  auto std_at = [&](int t) {
    double s = 0;
    for (int64_t i = 0; i < cfg.trajectories; ++i)
      for (int p = 0; p < 32 * 32; ++p) {
        const double v = out[(size_t(i) * cfg.frames + t - 1) * 1024 + p];
        s += v * v;
      }
    return std::sqrt(s / (cfg.trajectories * 1024.0));
  };
  CHECK(std_at(10) == Approx(1.0).epsilon(0.1));  // 1.03 here; 0.99 over 24 trajectories at 64^2
  CHECK(std_at(20) == Approx(1.85).epsilon(0.1));  // 1.89 here; 1.81 over 24 trajectories at 64^2
}
