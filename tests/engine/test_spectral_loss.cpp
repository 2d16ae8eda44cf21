// The band-split spectral KD loss against brute force and identities: band masks counted on
// the full spectrum, Parseval (alpha = 1 gives the MSE), a direct full-spectrum DFT of the
// weighted and adaptive loss, cosine fields landing in their band, and float64 gradient checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <vector>

#include "engine/gradcheck.hpp"
#include "kernels/cpu/spectral_loss.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/spectral_loss.hpp"

using namespace sdkd;
using cd = std::complex<double>;

namespace {

// Band of a full-spectrum bin with signed frequencies (ky, kx), written from the definition.
int brute_band(const std::vector<double>& cutoffs, int64_t ky, int64_t kx, int64_t H, int64_t W) {
  const double rho = std::hypot(double(ky) / (H / 2.0), double(kx) / (W / 2.0));
  int b = 0;
  for (double c : cutoffs)
    if (rho > c + 1e-12) ++b;
  return b;
}

int64_t signed_freq(int64_t i, int64_t n) { return i < (n + 1) / 2 ? i : i - n; }

// Full-spectrum orthonormal DFT of one H x W map, by the definition.
std::vector<cd> full_dft(const double* x, int64_t H, int64_t W) {
  std::vector<cd> X(size_t(H * W));
  for (int64_t k = 0; k < H; ++k)
    for (int64_t l = 0; l < W; ++l) {
      cd s = 0;
      for (int64_t m = 0; m < H; ++m)
        for (int64_t n = 0; n < W; ++n)
          s += x[m * W + n] * std::polar(1.0, -2 * M_PI * (double(k * m) / double(H) + double(l * n) / double(W)));
      X[size_t(k * W + l)] = s / std::sqrt(double(H * W));
    }
  return X;
}

// The loss of the header computed on the full spectrum with brute-force bands.
double direct_loss(const Tensor& s, const Tensor& t, const SpectralKDOptions& o) {
  const int64_t H = s.size(-2), W = s.size(-1), maps = s.numel() / (H * W);
  const size_t K = o.cutoffs.size() + 1;
  const auto vs = s.to_double_vector(), vt = t.to_double_vector();
  std::vector<double> err(K, 0), energy(K, 0), bins(K, 0);
  for (int64_t n = 0; n < maps; ++n) {
    const auto S = full_dft(vs.data() + n * H * W, H, W), T = full_dft(vt.data() + n * H * W, H, W);
    for (int64_t k = 0; k < H; ++k)
      for (int64_t l = 0; l < W; ++l) {
        const int b = brute_band(o.cutoffs, signed_freq(k, H), signed_freq(l, W), H, W);
        err[size_t(b)] += std::norm(S[size_t(k * W + l)] - T[size_t(k * W + l)]);
        energy[size_t(b)] += std::norm(T[size_t(k * W + l)]);
        bins[size_t(b)] += 1;
      }
  }
  std::vector<double> w = o.band_weights;
  if (w.empty()) {
    w.assign(K, 1.0);
    w[0] = o.alpha;
  }
  if (o.adaptive) {
    std::vector<double> a(K, 0);
    double top = 0, total = 0, nonempty = 0;
    for (size_t b = 0; b < K; ++b)
      if (bins[b] > 0) top = std::max(top, energy[b] / bins[b]);
    for (size_t b = 0; b < K; ++b)
      if (bins[b] > 0) {
        a[b] = std::pow(std::max(energy[b] / bins[b], 1e-12 * top), -o.gamma);
        total += a[b];
        nonempty += 1;
      }
    for (size_t b = 0; b < K; ++b) w[b] *= a[b] * nonempty / total;
  }
  double loss = 0;
  for (size_t b = 0; b < K; ++b) loss += w[b] * err[b];
  return loss / double(s.numel());
}

const std::vector<std::vector<double>> kCutoffSets = {{0.25}, {}, {0.1, 0.5, 0.9}, {0.3, 1.2}, {0.5, 1.0, 1.3}};
const std::vector<Shape> kShapes = {{2, 3, 8, 8}, {1, 2, 7, 5}, {2, 1, 6, 9}, {1, 2, 5, 4}, {3, 1, 1, 6}, {1, 1, 16, 12}};

}  // namespace

TEST_CASE("band masks partition the half spectrum and match full-spectrum counts", "[spectral_kd]") {
  for (const auto& cut : kCutoffSets)
    for (int64_t H : {1, 2, 5, 8, 9, 16})
      for (int64_t W : {1, 3, 4, 7, 12}) {
        const BandSpec spec{cut};
        const auto band = band_index(spec, H, W);
        const int K = band_count(spec);
        REQUIRE(band.size() == size_t(H * (W / 2 + 1)));
        for (int32_t b : band) REQUIRE((b >= 0 && b < K));
        std::vector<int64_t> brute(size_t(K), 0);
        for (int64_t k = 0; k < H; ++k)
          for (int64_t l = 0; l < W; ++l) ++brute[size_t(brute_band(cut, signed_freq(k, H), signed_freq(l, W), H, W))];
        INFO("H " << H << " W " << W << " K " << K);
        CHECK(band_bin_counts(spec, H, W) == brute);
        // Each half-spectrum bin's band is the band of its (ky, kx) from the definition.
        const int64_t Wc = W / 2 + 1;
        for (int64_t r = 0; r < H; ++r)
          for (int64_t kx = 0; kx < Wc; ++kx)
            REQUIRE(band[size_t(r * Wc + kx)] == brute_band(cut, signed_freq(r, H), kx, H, W));
      }
}

TEST_CASE("bands by hand on an 8 x 8 map, the column weight", "[spectral_kd]") {
  // rho = sqrt(ky^2 + kx^2) / 4: rho <= 0.25 only for DC, (+-1, 0) and (0, +-1).
  CHECK(band_bin_counts(BandSpec{{0.25}}, 8, 8) == std::vector<int64_t>{5, 59});
  // The corner (ky = -4, kx = 4) has rho = sqrt(2): in the last band even above cutoff 1.
  const auto band = band_index(BandSpec{{0.5, 1.0}}, 8, 8);
  CHECK(band[4 * 5 + 4] == 2);
  CHECK(normalised_wavenumber(4, 4, 8, 8) == Approx(std::sqrt(2.0)));
  CHECK(normalised_wavenumber(7, 0, 8, 8) == Approx(0.25));  // ky = -1
  CHECK(half_spectrum_weight(0, 8) == 1);
  CHECK(half_spectrum_weight(4, 8) == 1);
  CHECK(half_spectrum_weight(3, 8) == 2);
  CHECK(half_spectrum_weight(3, 7) == 2);
  CHECK(half_spectrum_weight(0, 7) == 1);
  CHECK_THROWS_AS(band_index(BandSpec{{0.5, 0.3}}, 8, 8), Error);
  CHECK_THROWS_AS(band_index(BandSpec{{-0.1}}, 8, 8), Error);
}

TEST_CASE("Parseval: alpha = 1 without adaptive weights is the MSE, any cutoffs and sizes", "[spectral_kd]") {
  uint64_t seed = 1;
  for (const auto& shape : kShapes)
    for (const auto& cut : kCutoffSets) {
      const Tensor s = test::randn64(shape, seed++), t = test::randn64(shape, seed++);
      SpectralKDOptions o;
      o.cutoffs = cut;
      const auto res = spectral_kd_loss(s, t, o);
      const double mse = mse_loss(s, t).item();
      INFO("shape " << shape_str(shape) << " K " << cut.size() + 1);
      CHECK(std::fabs(res.loss.item() - mse) <= 1e-12 * mse);
      double total = 0;
      for (double v : res.band_losses) total += v;
      CHECK(std::fabs(total - mse) <= 1e-12 * mse);
    }
}

TEST_CASE("weighted and adaptive loss match a direct full-spectrum DFT", "[spectral_kd]") {
  uint64_t seed = 100;
  for (const auto& shape : std::vector<Shape>{{2, 2, 6, 6}, {1, 2, 7, 5}, {1, 1, 4, 9}}) {
    // A teacher with a red spectrum (smoothed noise) so the adaptive weights are far from 1.
    const Tensor s = test::randn64(shape, seed++);
    Tensor t = test::randn64(shape, seed++);
    {
      double* p = t.data<double>();
      const int64_t W = shape[3], n = t.numel();
      for (int64_t i = n - 1; i > 0; --i)
        if (i % W != 0) p[i] += 3 * p[i - 1];
    }
    std::vector<SpectralKDOptions> cases(4);
    cases[0].alpha = 0.3;
    cases[1].cutoffs = {0.2, 0.6};
    cases[1].band_weights = {0.5, 2.0, 1.5};
    cases[2].adaptive = true;
    cases[3].cutoffs = {0.3, 0.8};
    cases[3].alpha = 2.0;
    cases[3].adaptive = true;
    cases[3].gamma = 1.0;
    for (const auto& o : cases) {
      const auto res = spectral_kd_loss(s, t, o);
      const double ref = direct_loss(s, t, o);
      INFO("shape " << shape_str(shape) << " alpha " << o.alpha << " adaptive " << o.adaptive);
      CHECK(res.loss.item() == Approx(ref).epsilon(1e-11));
      double recomposed = 0;
      for (size_t b = 0; b < res.weights.size(); ++b) recomposed += res.weights[b] * res.band_losses[b];
      CHECK(res.loss.item() == Approx(recomposed).epsilon(1e-13));
    }
  }
}

TEST_CASE("adaptive weights: gamma = 0 changes nothing, factors sum to K, low band favoured", "[spectral_kd]") {
  const Shape shape{2, 2, 8, 8};
  const Tensor s = test::randn64(shape, 7);
  Tensor t = test::randn64(shape, 8);
  double* p = t.data<double>();
  for (int64_t i = t.numel() - 1; i > 0; --i)
    if (i % 8 != 0) p[i] += 2 * p[i - 1];  // more energy at low wavenumbers
  SpectralKDOptions plain, adaptive;
  plain.cutoffs = adaptive.cutoffs = {0.25, 0.6};
  adaptive.adaptive = true;
  adaptive.gamma = 0;
  CHECK(spectral_kd_loss(s, t, adaptive).loss.item() == Approx(spectral_kd_loss(s, t, plain).loss.item()).epsilon(1e-14));
  adaptive.gamma = 0.5;
  const auto res = spectral_kd_loss(s, t, adaptive);
  CHECK(res.weights[0] + res.weights[1] + res.weights[2] == Approx(3.0).epsilon(1e-14));
  // The teacher's low band holds the most energy per bin, so it gets the smallest weight.
  CHECK(res.weights[0] < res.weights[1]);
  CHECK(res.weights[1] < res.weights[2]);
}

TEST_CASE("a single cosine field lands in its band", "[spectral_kd]") {
  struct Case {
    int64_t H, W, a, b;
    int band;  // by hand: rho = sqrt((a / (H/2))^2 + (b / (W/2))^2), cutoffs 0.25 / 0.5 / 0.75
  };
  const std::vector<Case> cases = {
      {16, 16, 1, 1, 0},   // rho = sqrt(2)/8 = 0.18
      {16, 16, 3, 2, 1},   // sqrt(13)/8 = 0.45
      {16, 16, -3, 2, 1},  // the mirrored wave, same rho
      {16, 16, 5, 4, 3},   // sqrt(41)/8 = 0.80
      {16, 16, 7, 7, 3},   // corner, 1.24
      {16, 12, 0, 4, 2},   // 4/6 = 0.67
      {9, 7, 2, 1, 2},     // sqrt((2/4.5)^2 + (1/3.5)^2) = 0.53
      {9, 7, 1, 0, 0},     // 1/4.5 = 0.22
  };
  for (const auto& c : cases) {
    const int expected = c.band;
    Tensor x = Tensor::zeros({1, 1, c.H, c.W}, DType::f64);
    double* p = x.data<double>();
    double energy = 0;
    for (int64_t m = 0; m < c.H; ++m)
      for (int64_t n = 0; n < c.W; ++n) {
        p[m * c.W + n] = std::cos(2 * M_PI * (double(c.a * m) / double(c.H) + double(c.b * n) / double(c.W)));
        energy += p[m * c.W + n] * p[m * c.W + n];
      }
    energy /= double(c.H * c.W);
    SpectralKDOptions o;
    o.cutoffs = {0.25, 0.5, 0.75};
    const auto res = spectral_kd_loss(x, Tensor::zeros(x.shape(), DType::f64), o);
    INFO("H " << c.H << " W " << c.W << " a " << c.a << " b " << c.b);
    for (int b = 0; b < 4; ++b) {
      if (b == expected) CHECK(res.band_losses[size_t(b)] == Approx(energy).epsilon(1e-12));
      else CHECK(std::fabs(res.band_losses[size_t(b)]) < 1e-24);
    }
  }
}

TEST_CASE("spectral KD gradient matches finite differences in float64, teacher gets none", "[spectral_kd]") {
  uint64_t seed = 500;
  std::vector<SpectralKDOptions> cases(3);
  cases[0].alpha = 0.3;
  cases[0].cutoffs = {0.3, 0.7};
  cases[1].band_weights = {2.5, 0.25};
  cases[2].adaptive = true;
  cases[2].alpha = 1.7;
  for (const auto& shape : std::vector<Shape>{{2, 2, 5, 6}, {1, 3, 4, 7}, {1, 1, 6, 6}, {1, 1, 3, 1}})
    for (const auto& o : cases) {
      const Tensor t = test::randn64(shape, seed++);
      INFO("shape " << shape_str(shape));
      CHECK(test::gradcheck([&](const std::vector<Tensor>& in) { return spectral_kd_loss(in[0], t, o).loss; },
                      {test::randn64(shape, seed++)}, 1e-7).passed());
    }
  Tensor s = test::randn64({1, 2, 4, 4}, 1), t = test::randn64({1, 2, 4, 4}, 2);
  s.set_requires_grad(true);
  t.set_requires_grad(true);
  spectral_kd_loss(s, t, SpectralKDOptions{}).loss.backward();
  CHECK(s.grad().defined());
  CHECK_FALSE(t.grad().defined());
}

TEST_CASE("float32 loss and gradient agree with float64", "[spectral_kd]") {
  const Shape shape{2, 3, 16, 12};
  const Tensor s64 = test::randn64(shape, 11), t64 = test::randn64(shape, 12);
  SpectralKDOptions o;
  o.alpha = 0.5;
  o.adaptive = true;
  Tensor s32 = s64.to(DType::f32), a64 = s64.clone();
  s32.set_requires_grad(true);
  a64.set_requires_grad(true);
  const auto r32 = spectral_kd_loss(s32, t64.to(DType::f32), o);
  const auto r64 = spectral_kd_loss(a64, t64, o);
  CHECK(r32.loss.dtype() == DType::f32);
  CHECK(r32.loss.item() == Approx(r64.loss.item()).epsilon(1e-5));
  r32.loss.backward();
  r64.loss.backward();
  const auto g32 = s32.grad().to_double_vector(), g64 = a64.grad().to_double_vector();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < g64.size(); ++i) {
    worst = std::max(worst, std::fabs(g32[i] - g64[i]));
    scale = std::max(scale, std::fabs(g64[i]));
  }
  CHECK(worst <= 1e-5 * scale);
}

TEST_CASE("fused kernel: band sums and gradient spectrum by naive loops, in place", "[spectral_kd]") {
  const int H = 5, W = 6, Wc = W / 2 + 1, K = 3;
  const int64_t batch = 3, bins = int64_t(H) * Wc;
  std::vector<cd> S(size_t(batch * bins)), T(S.size());
  for (size_t i = 0; i < S.size(); ++i) {
    S[i] = cd(std::sin(1.3 * double(i)), std::cos(0.7 * double(i)));
    T[i] = cd(std::cos(2.1 * double(i)), std::sin(0.4 * double(i)));
  }
  std::vector<int32_t> band(static_cast<size_t>(bins));
  for (int64_t i = 0; i < bins; ++i) band[size_t(i)] = int32_t((i * 7) % K);
  const double scale[K] = {0.5, -1.0, 3.0};
  std::vector<double> want(K, 0.0);
  std::vector<cd> want_grad(S.size());
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < bins; ++i) {
      const int64_t kx = i % Wc;
      const double w = (kx == 0 || kx == W / 2) ? 1 : 2;  // W even
      const cd d = S[size_t(n * bins + i)] - T[size_t(n * bins + i)];
      want[size_t(band[size_t(i)])] += w * std::norm(d);
      want_grad[size_t(n * bins + i)] = scale[band[size_t(i)]] * d;
    }
  std::vector<double> got(K);
  cpu::spectral_band_loss(S.data(), T.data(), S.data(), batch, H, W, band.data(), K, scale, got.data());
  for (int b = 0; b < K; ++b) CHECK(got[size_t(b)] == Approx(want[size_t(b)]).epsilon(1e-14));
  for (size_t i = 0; i < S.size(); ++i) REQUIRE(std::abs(S[i] - want_grad[i]) < 1e-15);
}

TEST_CASE("spectral KD rejects bad arguments with clear errors", "[spectral_kd]") {
  const Tensor a = test::randn64({1, 1, 4, 4}, 1);
  CHECK_THROWS_WITH(spectral_kd_loss(a, test::randn64({1, 1, 4, 5}, 2), SpectralKDOptions{}),
                    Catch::Contains("must have the same shape"));
  CHECK_THROWS_WITH(spectral_kd_loss(a, a.to(DType::f32), SpectralKDOptions{}), Catch::Contains("dtype mismatch"));
  SpectralKDOptions o;
  o.band_weights = {1, 2, 3};
  CHECK_THROWS_WITH(spectral_kd_loss(a, a, o), Catch::Contains("band_weights has 3 entries but the cutoffs make 2"));
  o.band_weights.clear();
  o.cutoffs = {0.5, 0.5};
  CHECK_THROWS_WITH(spectral_kd_loss(a, a, o), Catch::Contains("strictly increasing"));
}

namespace {

// Per half-spectrum bin of an H x W map: its rho and column weight, by the definitions.
struct HalfBins {
  std::vector<double> rho, weight;
};
HalfBins half_bins(int64_t H, int64_t W) {
  HalfBins hb;
  for (int64_t r = 0; r < H; ++r)
    for (int64_t kx = 0; kx <= W / 2; ++kx) {
      hb.rho.push_back(std::hypot(double(signed_freq(r, H)) / (H / 2.0), double(kx) / (W / 2.0)));
      hb.weight.push_back((kx == 0 || 2 * kx == W) ? 1.0 : 2.0);
    }
  return hb;
}

}  // namespace

TEST_CASE("equal-energy bands: fixed bands that hold equal energy come back unchanged", "[spectral_kd][bands]") {
  for (const auto& cut : std::vector<std::vector<double>>{{0.25}, {0.25, 0.5}, {0.2, 0.45, 0.8}})
    for (const auto& [H, W] : std::vector<std::pair<int64_t, int64_t>>{{8, 8}, {16, 12}, {9, 7}, {16, 16}}) {
      const BandSpec fixed{cut};
      const auto band = band_index(fixed, H, W);
      const auto count = band_bin_counts(fixed, H, W);
      const int K = band_count(fixed);
      bool all_nonempty = true;
      for (auto c : count) all_nonempty = all_nonempty && c > 0;
      if (!all_nonempty) continue;
      // Each band's energy spread over its bins (weighted): every band holds 1/K of the total.
      std::vector<double> energy(band.size());
      for (size_t i = 0; i < band.size(); ++i)
        energy[i] = double(half_spectrum_weight(int64_t(i) % (W / 2 + 1), W)) / (K * double(count[size_t(band[i])]));
      const BandSpec adaptive = equal_energy_bands(energy, H, W, K);
      INFO("H " << H << " W " << W << " K " << K);
      REQUIRE(adaptive.cutoffs.size() == cut.size());
      CHECK(band_index(adaptive, H, W) == band);
    }
}

TEST_CASE("equal-energy bands partition the energy: each cutoff the first to reach b/K", "[spectral_kd][bands]") {
  uint64_t seed = 7;
  for (const auto& [H, W] : std::vector<std::pair<int64_t, int64_t>>{{16, 16}, {12, 9}, {5, 8}})
    for (int K : {1, 2, 3, 5}) {
      const HalfBins hb = half_bins(H, W);
      // A red spectrum (energy falling with rho) with random scatter, as a teacher's.
      const auto u = test::randn64({int64_t(hb.rho.size())}, seed++).to_double_vector();
      std::vector<double> energy(hb.rho.size());
      double total = 0;
      for (size_t i = 0; i < energy.size(); ++i)
        total += energy[i] = hb.weight[i] * std::exp(0.5 * u[i]) / (1 + 20 * hb.rho[i] * hb.rho[i]);
      const BandSpec spec = equal_energy_bands(energy, H, W, K);
      INFO("H " << H << " W " << W << " K " << K);
      REQUIRE(int(spec.cutoffs.size()) == K - 1);
      REQUIRE(band_count(spec) == K);  // strictly increasing, positive
      const double top = *std::max_element(hb.rho.begin(), hb.rho.end());
      for (size_t b = 0; b < spec.cutoffs.size(); ++b) {
        // Energy at or below the cutoff reaches b/K of the total; without the group of bins
        // just below the cutoff (the largest rho under it) it does not: the first to reach it.
        double below_or_at = 0, at = 0, last = -1;
        for (size_t i = 0; i < energy.size(); ++i)
          if (hb.rho[i] <= spec.cutoffs[b]) below_or_at += energy[i], last = std::max(last, hb.rho[i]);
        for (size_t i = 0; i < energy.size(); ++i)
          if (std::fabs(hb.rho[i] - last) <= 1e-12) at += energy[i];
        const double target = total * double(b + 1) / K;
        CHECK(below_or_at >= target * (1 - 1e-9));
        CHECK(below_or_at - at < target);
        CHECK(spec.cutoffs[b] < top);  // the top band keeps bins
      }
      // Parseval holds for the derived layout as for any: weights 1 give the MSE.
      const Tensor s = test::randn64({2, 1, H, W}, seed++), t = test::randn64({2, 1, H, W}, seed++);
      SpectralKDOptions o;
      o.cutoffs = spec.cutoffs;
      o.alpha = 1;
      const double mse = mse_loss(s, t).item();
      CHECK(std::fabs(spectral_kd_loss(s, t, o).loss.item() - mse) <= 1e-12 * mse);
    }
}

TEST_CASE("equal-energy bands from feature maps use their spectrum's energy (direct DFT)", "[spectral_kd][bands]") {
  const int64_t H = 8, W = 6;
  const Tensor maps = test::randn64({2, 3, H, W}, 41);
  const auto v = maps.to_double_vector();
  // The half-spectrum energies by the definition: |X_k|^2 of the full spectrum, the conjugate
  // bins the half spectrum does not store folded onto their stored twins by the column weight.
  std::vector<double> energy(size_t(H * (W / 2 + 1)), 0.0);
  for (int64_t n = 0; n < 6; ++n) {
    const auto X = full_dft(v.data() + n * H * W, H, W);
    for (int64_t r = 0; r < H; ++r)
      for (int64_t kx = 0; kx <= W / 2; ++kx)
        energy[size_t(r * (W / 2 + 1) + kx)] += ((kx == 0 || 2 * kx == W) ? 1.0 : 2.0) * std::norm(X[size_t(r * W + kx)]);
  }
  for (int K : {2, 3, 4}) {
    const BandSpec from_maps = equal_energy_bands(maps, K), direct = equal_energy_bands(energy, H, W, K);
    CHECK(from_maps.cutoffs == direct.cutoffs);
    CHECK(equal_energy_bands(maps.to(DType::f32), K).cutoffs == direct.cutoffs);  // float32 maps too
  }
}

TEST_CASE("equal-energy bands refuse what cannot be split", "[spectral_kd][bands]") {
  const std::vector<double> flat(size_t(8 * 5), 1.0);
  CHECK_THROWS_WITH(equal_energy_bands(flat, 8, 8, 0), Catch::Contains("expected K >= 1"));
  CHECK_THROWS_WITH(equal_energy_bands(flat, 8, 7, 2), Catch::Contains("expected 32 half-spectrum bin energies"));
  CHECK_THROWS_WITH(equal_energy_bands(std::vector<double>(1, 1.0), 1, 1, 2), Catch::Contains("too few for 2 bands"));
  CHECK_THROWS_WITH(equal_energy_bands(std::vector<double>(40, 0.0), 8, 8, 2), Catch::Contains("energy is 0"));
  std::vector<double> bad = flat;
  bad[3] = -1;
  CHECK_THROWS_WITH(equal_energy_bands(bad, 8, 8, 2), Catch::Contains("bin 3 has energy -1"));
}
