// SSIM against a direct (non-separable, unoptimised) evaluation of its formula and against
// closed forms on linear ramps; PSNR; the accumulator against the standalone functions.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "sdkd/eval/image_metrics.hpp"
#include "sdkd/eval/spectrum.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/error.hpp"

using namespace sdkd;
using namespace sdkd::eval;

namespace {

// The 2-D Gaussian window written out as one 11x11 array of exp(-(dy^2 + dx^2) / (2 sigma^2)),
// normalised over all 121 entries.
struct Window2d {
  double w[11][11];
  Window2d() {
    double sum = 0;
    for (int i = 0; i < 11; ++i)
      for (int j = 0; j < 11; ++j) sum += (w[i][j] = std::exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / 4.5));
    for (auto& row : w)
      for (double& v : row) v /= sum;
  }
};

// SSIM straight from the definition: at each valid centre, weighted mean, variance (about the
// mean, not E[x^2] - mu^2) and covariance over the 11x11 window.
double ssim_direct(const std::vector<float>& a, const std::vector<float>& b, int H, int W, double R) {
  static const Window2d win;
  const double C1 = (0.01 * R) * (0.01 * R), C2 = (0.03 * R) * (0.03 * R);
  double total = 0;
  int count = 0;
  for (int cy = 5; cy < H - 5; ++cy)
    for (int cx = 5; cx < W - 5; ++cx) {
      double ma = 0, mb = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          ma += win.w[i][j] * a[size_t((cy + i - 5) * W + cx + j - 5)];
          mb += win.w[i][j] * b[size_t((cy + i - 5) * W + cx + j - 5)];
        }
      double va = 0, vb = 0, cov = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          const double da = a[size_t((cy + i - 5) * W + cx + j - 5)] - ma;
          const double db = b[size_t((cy + i - 5) * W + cx + j - 5)] - mb;
          va += win.w[i][j] * da * da;
          vb += win.w[i][j] * db * db;
          cov += win.w[i][j] * da * db;
        }
      total += (2 * ma * mb + C1) * (2 * cov + C2) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      ++count;
    }
  return total / count;
}

std::vector<float> random_field(int H, int W, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> f(size_t(H * W));
  for (float& v : f) v = normal(rng);
  return f;
}

// a(y, x) = 0.25 x + 0.5 y - 3: exact in float, and a symmetric window's weighted mean of a
// linear function is its value at the centre.
std::vector<float> ramp(int H, int W) {
  std::vector<float> f(size_t(H * W));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) f[size_t(y * W + x)] = 0.25f * x + 0.5f * y - 3.0f;
  return f;
}

}  // namespace

TEST_CASE("ssim: identical fields give 1, and the formula matches a direct evaluation", "[image_metrics]") {
  std::mt19937 rng(11);
  const int H = 20, W = 17;
  const std::vector<float> a = random_field(H, W, rng, 2.0f);
  std::vector<float> b = random_field(H, W, rng, 0.7f);
  for (size_t i = 0; i < b.size(); ++i) b[i] += 0.8f * a[i] + 0.3f;  // correlated, shifted
  CHECK(ssim(a.data(), a.data(), H, W, 8.0) == Approx(1.0).epsilon(1e-12));

  for (double R : {1.0, 8.0, 50.0}) {
    const double fast = ssim(a.data(), b.data(), H, W, R);
    INFO("data_range " << R);
    CHECK(fast == Approx(ssim_direct(a, b, H, W, R)).epsilon(1e-10));
    CHECK(fast < 0.999);
    CHECK(ssim(b.data(), a.data(), H, W, R) == Approx(fast).epsilon(1e-13));  // symmetric
  }
  // Independent noise is nearly uncorrelated: SSIM near 0, far below the correlated pair.
  const std::vector<float> c = random_field(H, W, rng, 2.0f);
  CHECK(std::fabs(ssim(a.data(), c.data(), H, W, 8.0)) < 0.3);
}

TEST_CASE("ssim: closed forms on a ramp (constant shift, scaling)", "[image_metrics]") {
  const int H = 16, W = 19;
  const double R = 10.0, C1 = (0.01 * R) * (0.01 * R), C2 = (0.03 * R) * (0.03 * R);
  const std::vector<float> a = ramp(H, W);

  // Shift by d: variances and covariance are unchanged, so the contrast-structure term is 1
  // and only the luminance term (2 mu (mu + d) + C1) / (mu^2 + (mu + d)^2 + C1) remains.
  const double d = 0.75;
  std::vector<float> shifted(a.size());
  for (size_t i = 0; i < a.size(); ++i) shifted[i] = a[i] + float(d);
  double expect = 0;
  int n = 0;
  for (int y = 5; y < H - 5; ++y)
    for (int x = 5; x < W - 5; ++x, ++n) {
      const double mu = 0.25 * x + 0.5 * y - 3.0;
      expect += (2 * mu * (mu + d) + C1) / (mu * mu + (mu + d) * (mu + d) + C1);
    }
  expect /= n;
  CHECK(expect < 0.99);  // the case tests something
  CHECK(ssim(a.data(), shifted.data(), H, W, R) == Approx(expect).epsilon(1e-9));

  // Scale by s: mu_b = s mu, var_b = s^2 v, cov = s v with v = (0.25^2 + 0.5^2) * sum g_i (i-5)^2,
  // the ramp's variance under the window (per-axis Gaussian weights g).
  double g[11], gs = 0, m2 = 0;
  for (int i = 0; i < 11; ++i) gs += (g[i] = std::exp(-(i - 5) * (i - 5) / 4.5));
  for (int i = 0; i < 11; ++i) m2 += g[i] / gs * (i - 5) * (i - 5);
  const double v = (0.0625 + 0.25) * m2, s = 1.6;
  std::vector<float> scaled(a.size());
  for (size_t i = 0; i < a.size(); ++i) scaled[i] = float(s) * a[i];
  expect = 0;
  for (int y = 5; y < H - 5; ++y)
    for (int x = 5; x < W - 5; ++x) {
      const double mu = 0.25 * x + 0.5 * y - 3.0;
      expect += (2 * s * mu * mu + C1) / ((1 + s * s) * mu * mu + C1) * (2 * s * v + C2) / ((1 + s * s) * v + C2);
    }
  expect /= n;
  CHECK(ssim(a.data(), scaled.data(), H, W, R) == Approx(expect).epsilon(1e-6));
}

TEST_CASE("ssim: inputs are checked, the batched mean averages every frame", "[image_metrics]") {
  std::vector<float> small(100, 0.0f);
  CHECK_THROWS_AS(ssim(small.data(), small.data(), 10, 10, 1.0), Error);
  std::vector<float> ok(144, 0.0f);
  CHECK_THROWS_AS(ssim(ok.data(), ok.data(), 12, 12, 0.0), Error);

  std::mt19937 rng(5);
  const int H = 12, W = 13;
  std::vector<float> p, t;
  double expect = 0;
  for (int f = 0; f < 6; ++f) {
    const std::vector<float> a = random_field(H, W, rng), b = random_field(H, W, rng);
    p.insert(p.end(), a.begin(), a.end());
    t.insert(t.end(), b.begin(), b.end());
    expect += ssim_direct(a, b, H, W, 4.0) / 6;
  }
  CHECK(ssim_mean(Tensor::from_vector(p, {1, 3, 2, H, W}), Tensor::from_vector(t, {1, 3, 2, H, W}), 4.0) ==
        Approx(expect).epsilon(1e-10));
}

TEST_CASE("psnr: known values", "[image_metrics]") {
  CHECK(psnr(0.01, 1.0) == Approx(20.0).epsilon(1e-12));
  CHECK(psnr(4.0, 20.0) == Approx(20.0).epsilon(1e-12));  // 10 log10(400 / 4)
  CHECK(psnr(1.0, 1.0) == Approx(0.0).margin(1e-12));
  CHECK(std::isinf(psnr(0.0, 3.0)));
  CHECK_THROWS_AS(psnr(1.0, 0.0), Error);
}

TEST_CASE("data range: the truth's max - min over the test windows' target frames", "[image_metrics]") {
  const int N = 2, T = 6, H = 3, W = 4;
  std::mt19937 rng(3);
  std::vector<float> v = random_field(N * T * H, W, rng);
  // An extreme value in an input frame must not count; one in a target frame must.
  v[size_t((0 * T + 0) * H * W + 5)] = 100.0f;  // trajectory 0, frame 0: always an input frame
  v[size_t((1 * T + 3) * H * W + 2)] = -50.0f;  // trajectory 1, frame 3: target of window (1, 1)
  data::SequenceDataset ds(Tensor::from_vector(v, {N, T, 1, H, W}), data::WindowSpec{2, 2, 2});
  const std::vector<std::pair<int64_t, int64_t>> windows = {{0, 0}, {1, 1}};
  double lo = INFINITY, hi = -INFINITY;
  for (auto [n, s] : windows)
    for (int64_t fr = s + 2; fr < s + 4; ++fr)
      for (int i = 0; i < H * W; ++i) {
        const double x = v[size_t((n * T + fr) * H * W + i)];
        lo = std::min(lo, x), hi = std::max(hi, x);
      }
  CHECK(hi < 100.0);
  CHECK(lo == -50.0);
  CHECK(target_range(ds, windows) == Approx(hi - lo).epsilon(1e-12));
  CHECK(value_range(Tensor::from_vector(v, {N * T * H * W})) == 150.0);
}

TEST_CASE("extra metrics: the accumulator agrees with the standalone functions, JSON round trip",
          "[image_metrics]") {
  std::mt19937 rng(21);
  const int64_t T = 3, C = 1, H = 16, W = 16;
  auto batch = [&](int64_t B, float noise) {
    std::vector<float> t = random_field(int(B * T * C * H), W, rng), p = t;
    std::normal_distribution<float> normal(0.0f, noise);
    for (float& x : p) x += normal(rng);
    return std::pair{Tensor::from_vector(p, {B, T, C, H, W}), Tensor::from_vector(t, {B, T, C, H, W})};
  };
  const auto [p1, t1] = batch(2, 0.3f);
  const auto [p2, t2] = batch(3, 0.6f);
  const double R = 7.0;
  ExtraMetricAccumulator acc(R);
  acc.add(p1, t1);
  acc.add(p2, t2);
  const ExtraMetrics m = acc.result();

  // Expected values from the whole set at once.
  std::vector<float> pv = p1.to_float_vector(), tv = t1.to_float_vector();
  for (float x : p2.to_float_vector()) pv.push_back(x);
  for (float x : t2.to_float_vector()) tv.push_back(x);
  const Tensor P = Tensor::from_vector(pv, {5, T, C, H, W}), Tt = Tensor::from_vector(tv, {5, T, C, H, W});
  double se = 0;
  for (size_t i = 0; i < pv.size(); ++i) se += double(pv[i] - tv[i]) * (pv[i] - tv[i]);
  CHECK(m.samples == 5);
  CHECK(m.ssim == Approx(ssim_mean(P, Tt, R)).epsilon(1e-12));
  CHECK(m.psnr == Approx(10 * std::log10(R * R / (se / double(pv.size())))).epsilon(1e-9));
  const BandErrors be = band_errors(P, Tt);
  CHECK(m.low_band_err == Approx(be.low).epsilon(1e-12));
  CHECK(m.high_band_err == Approx(be.high).epsilon(1e-12));
  const std::vector<double> sp = energy_spectrum(P), st = energy_spectrum(Tt);
  REQUIRE(m.spectrum_pred.size() == sp.size());
  for (size_t k = 0; k < sp.size(); ++k) {
    CHECK(m.spectrum_pred[k] == Approx(sp[k]).epsilon(1e-12));
    CHECK(m.spectrum_true[k] == Approx(st[k]).epsilon(1e-12));
  }
  // The error spectrum: that of P - T, and by Parseval its shells sum to half the MSE.
  const std::vector<double> se_k = energy_spectrum(sub(P, Tt));
  REQUIRE(m.spectrum_error.size() == se_k.size());
  double err_total = 0;
  for (size_t k = 0; k < se_k.size(); ++k) {
    CHECK(m.spectrum_error[k] == Approx(se_k[k]).epsilon(1e-6));
    err_total += m.spectrum_error[k];
  }
  CHECK(err_total == Approx(0.5 * se / double(pv.size())).epsilon(1e-6));
  REQUIRE(m.ssim_per_lead.size() == size_t(T));
  for (int64_t k = 0; k < T; ++k)
    CHECK(m.ssim_per_lead[size_t(k)] == Approx(ssim_mean(P.slice(1, k, k + 1), Tt.slice(1, k, k + 1), R)).epsilon(1e-12));

  const nlohmann::json j = m;
  const ExtraMetrics back = nlohmann::json::parse(j.dump()).get<ExtraMetrics>();
  CHECK(back.ssim == m.ssim);
  CHECK(back.psnr == m.psnr);
  CHECK(back.high_band_err == m.high_band_err);
  CHECK(back.spectrum_true == m.spectrum_true);
  CHECK(back.spectrum_error == m.spectrum_error);
  CHECK(back.samples == 5);
  nlohmann::json old = j;  // a metrics.json written before the error spectrum
  old.erase("spectrum_error");
  CHECK(old.get<ExtraMetrics>().spectrum_error.empty());

  // A perfect prediction: PSNR infinite, written as null, read back as NaN.
  ExtraMetricAccumulator perfect(R);
  perfect.add(t1, t1);
  const ExtraMetrics pm = perfect.result();
  CHECK(pm.ssim == Approx(1.0).epsilon(1e-12));
  CHECK(std::isinf(pm.psnr));
  CHECK(pm.low_band_err == 0.0);
  CHECK(std::isnan(nlohmann::json::parse(nlohmann::json(pm).dump()).get<ExtraMetrics>().psnr));

  CHECK_THROWS_AS(acc.add(p1.slice(1, 0, 2), t1.slice(1, 0, 2)), Error);  // shape changed
  CHECK_THROWS_AS(ExtraMetricAccumulator(0.0), Error);
}
