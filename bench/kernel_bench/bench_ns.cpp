// One step of the pseudo-spectral Navier-Stokes solver (datasets/navier_stokes.hpp, double
// precision) on the demo and paper grids, on the CPU and on the GPU (cuFFT, float64).
// Validation: a single Fourier mode w = cos(2 pi k x) without forcing is an exact solution of the
// vorticity equation whose nonlinear term vanishes (u is parallel to the mode's crests), so one
// step must give exp(-nu (2 pi k)^2 dt) w: IF-RK4 integrates diffusion exactly, FNO's
// Crank-Nicolson step gives (1 - a) / (1 + a) with a = nu (2 pi k)^2 dt / 2; both are checked
// against their own exact factor, on the device being timed.
#include <cmath>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "sdkd/datasets/navier_stokes.hpp"

namespace sdkd::bench {

namespace {

// Double-precision FFTs of n^2 points: round-off ~1e-15 relative; 1e-10 catches any real error.
constexpr double kTol = 1e-10;
constexpr double kViscosity = 1e-5;

Prepared prepare(const shapes::NsStep& s, Device dev) {
  Prepared p;
  p.yardstick_note = "-";
  const data::NSScheme scheme = data::parse_ns_scheme(s.scheme);
  data::NSConfig cfg;
  cfg.viscosity = kViscosity;
  auto solver = std::make_shared<data::NSSolver>(s.n, kViscosity, s.dt, scheme, data::ns_forcing(s.n, 0.1), dev);
  const std::vector<double> w0 = data::grf_sample(cfg, 0, s.n);
  solver->set_vorticity(w0.data());
  p.ours.run = [solver] { solver->step(); };
  p.reference = "exact decay of one Fourier mode";
  p.validate = [s, scheme, dev] {
    const int k = 2;
    const int n = s.n;
    data::NSSolver one(n, kViscosity, s.dt, scheme, std::vector<double>(size_t(n) * n, 0.0), dev);
    std::vector<double> w(size_t(n) * n), ref(w.size()), got(w.size());
    const double lam = kViscosity * 4 * M_PI * M_PI * k * k * s.dt;
    const double factor = scheme == data::NSScheme::ifrk4 ? std::exp(-lam) : (1 - lam / 2) / (1 + lam / 2);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        w[size_t(i) * n + j] = std::cos(2 * M_PI * k * double(i) / n);
        ref[size_t(i) * n + j] = factor * w[size_t(i) * n + j];
      }
    one.set_vorticity(w.data());
    one.step();
    one.vorticity(got.data());
    return compare(got, ref, kTol, "w");
  };
  return p;
}

}  // namespace

// One solver step: no op, no generic rows.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::NsStep& s) {
  add_for_devices(out, o, "ns_step", e, [&s](Device d) { return prepare(s, d); });
  return {true, true};
}

}  // namespace sdkd::bench
