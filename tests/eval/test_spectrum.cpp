// Energy spectra and band errors, checked against fields built from known Fourier modes and
// against Parseval computed in physical space.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <random>

#include "sdkd/eval/spectrum.hpp"
#include "sdkd/error.hpp"

using namespace sdkd;
using namespace sdkd::eval;

namespace {

// Adds amp * cos(2 pi (ky y / H + kx x / W) + phase) to an H x W field.
void add_mode(std::vector<float>& f, int H, int W, int ky, int kx, double amp, double phase = 0.3) {
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      f[size_t(y * W + x)] += float(amp * std::cos(2 * M_PI * (double(ky) * y / H + double(kx) * x / W) + phase));
}

double mean_square(const std::vector<float>& f) {
  double s = 0;
  for (float v : f) s += double(v) * v;
  return s / double(f.size());
}

}  // namespace

TEST_CASE("spectrum: a single cosine mode puts all its energy in its shell", "[spectrum]") {
  struct Mode { int H, W, ky, kx, shell; double phase; };
  // (3, 4) -> |k| = 5; (1, 1) -> 1.41 rounds to 1; a kx = 0 column mode; the Nyquist column and
  // row (self-conjugate bins, phase 0 so the mode is not aliased away); an odd grid.
  const Mode modes[] = {{32, 32, 3, 4, 5, 0.3},  {16, 16, 1, 1, 1, 1.1}, {16, 12, 5, 0, 5, 0.7},
                        {16, 12, 0, 6, 6, 0.0},  {16, 16, 8, 0, 8, 0.0}, {15, 9, -2, 3, 4, 0.2}};
  for (const Mode& m : modes) {
    std::vector<float> f(size_t(m.H * m.W), 0.0f);
    add_mode(f, m.H, m.W, m.ky, m.kx, 1.7, m.phase);
    std::vector<double> E;
    accumulate_energy_spectrum(f.data(), 1, m.H, m.W, E);
    REQUIRE(int(E.size()) == spectrum_shells(m.H, m.W));
    const double total = 0.5 * mean_square(f);  // the energy the mode carries, from physical space
    INFO("grid " << m.H << "x" << m.W << " mode (" << m.ky << ", " << m.kx << ")");
    CHECK(total > 0.1);
    for (size_t k = 0; k < E.size(); ++k) {
      if (int(k) == m.shell) CHECK(E[k] == Approx(total).epsilon(1e-6));
      else CHECK(std::fabs(E[k]) < 1e-9 * total);
    }
  }
}

TEST_CASE("spectrum: shells sum to half the mean square over pixels (Parseval), averaged over fields",
          "[spectrum]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.3f, 1.2f);
  for (auto [H, W] : {std::pair{16, 12}, {15, 9}, {8, 8}, {1, 6}}) {
    const int64_t fields = 70;  // more than one internal chunk of 64
    std::vector<float> x(size_t(fields * H * W));
    for (float& v : x) v = normal(rng);
    const Tensor t = Tensor::from_vector(x, {7, 10, H, W});
    const std::vector<double> E = energy_spectrum(t);
    const double spectral = std::accumulate(E.begin(), E.end(), 0.0);
    double spatial = 0;
    for (float v : x) spatial += double(v) * v;
    spatial = 0.5 * spatial / double(x.size());
    INFO("grid " << H << "x" << W);
    CHECK(spectral == Approx(spatial).epsilon(1e-9));
    // k = 0 holds exactly the mean's energy: 0.5 * mean over fields of (field mean)^2.
    double mean_energy = 0;
    for (int64_t f = 0; f < fields; ++f) {
      double m = 0;
      for (int i = 0; i < H * W; ++i) m += x[size_t(f * H * W + i)];
      m /= H * W;
      mean_energy += 0.5 * m * m / double(fields);
    }
    CHECK(E[0] == Approx(mean_energy).epsilon(1e-9));
  }
}

TEST_CASE("spectrum: band errors of a prediction exact at low k and zero at high k", "[spectrum]") {
  const int H = 32, W = 32;  // Nyquist 16: rho <= 0.25 means |k| <= 4 on this square grid
  std::vector<float> low(size_t(H * W), 0.0f), high(size_t(H * W), 0.0f);
  add_mode(low, H, W, 1, 2, 1.0);
  add_mode(low, H, W, 4, 0, 0.6);   // rho = 0.25 exactly: the boundary belongs to the low band
  add_mode(low, H, W, -2, 3, 0.8);  // rho = 0.225
  add_mode(high, H, W, 10, 12, 0.5);
  add_mode(high, H, W, 5, 0, 0.4);  // rho = 0.3125, just outside
  add_mode(high, H, W, 16, 3, 0.3, 0.0);
  std::vector<float> truth(low.size()), zero_high = low, scaled_low(low.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    truth[i] = low[i] + high[i];
    scaled_low[i] = 1.5f * low[i] + high[i];  // low band 50 % off, high band exact
  }

  const std::vector<BandSums> s1 = band_sums(zero_high.data(), truth.data(), 1, H, W);
  CHECK(s1[0].low_error() < 1e-6);
  CHECK(s1[0].high_error() == Approx(1.0).epsilon(1e-6));
  // The band norms of the truth are the energies of its modes (Parseval per band).
  CHECK(s1[0].truth_low == Approx(mean_square(low)).epsilon(1e-6));
  CHECK(s1[0].truth_high == Approx(mean_square(high)).epsilon(1e-6));

  const std::vector<BandSums> s2 = band_sums(scaled_low.data(), truth.data(), 1, H, W);
  CHECK(s2[0].low_error() == Approx(0.5).epsilon(1e-6));
  CHECK(s2[0].high_error() < 1e-6);

  // Tensor form: sample 0 is "zero at high k", sample 1 is exact; errors are averaged per sample.
  std::vector<float> preds = zero_high, truths = truth;
  preds.insert(preds.end(), truth.begin(), truth.end());
  truths.insert(truths.end(), truth.begin(), truth.end());
  const BandErrors e = band_errors(Tensor::from_vector(preds, {2, 1, H, W}), Tensor::from_vector(truths, {2, 1, H, W}));
  CHECK(e.low < 1e-6);
  CHECK(e.high == Approx(0.5).epsilon(1e-6));

  // A larger cutoff moves the (5, 0) mode into the low band, where it is now missing.
  const std::vector<BandSums> s3 = band_sums(zero_high.data(), truth.data(), 1, H, W, 0.35);
  const double moved = 0.5 * 0.4 * 0.4;  // mean square of the 0.4-amplitude (5, 0) mode
  CHECK(s3[0].low_error() == Approx(std::sqrt(moved / (mean_square(low) + moved))).epsilon(1e-5));
  CHECK(s3[0].high_error() == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("spectrum: bad shapes are reported", "[spectrum]") {
  const Tensor a = Tensor::zeros({2, 1, 8, 8}), b = Tensor::zeros({2, 1, 8, 6});
  CHECK_THROWS_AS(band_errors(a, b), Error);
  std::vector<double> wrong(3, 0.0);
  std::vector<float> f(64, 0.0f);
  CHECK_THROWS_AS(accumulate_energy_spectrum(f.data(), 1, 8, 8, wrong), Error);
}
