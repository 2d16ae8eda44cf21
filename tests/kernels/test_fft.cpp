// The batched real 2-D FFT against direct sums written from numpy's definitions, plus the
// identities it must satisfy (round trip, Parseval with the half-spectrum weights) and the
// agreement of the float (kissfft) and double (own) paths.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <complex>
#include <vector>

#include "kernels/cpu/fft.hpp"
#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

using sdkd::cpu::FftNorm;
using cd = std::complex<double>;

namespace {

std::vector<double> random_real(size_t n, uint64_t stream) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = sdkd::Philox::normal(42, stream, i);
  return v;
}

// numpy.fft.rfft2 without normalisation, by the definition.
std::vector<cd> naive_rfft2(const double* x, int H, int W) {
  const int Wc = W / 2 + 1;
  std::vector<cd> X(size_t(H) * Wc);
  for (int k = 0; k < H; ++k)
    for (int l = 0; l < Wc; ++l) {
      long double re = 0, im = 0;
      for (int m = 0; m < H; ++m)
        for (int n = 0; n < W; ++n) {
          const long double th = -2.0L * M_PI * ((long double)(k * m) / H + (long double)(l * n) / W);
          re += x[m * W + n] * std::cos(th);
          im += x[m * W + n] * std::sin(th);
        }
      X[size_t(k) * Wc + l] = cd(double(re), double(im));
    }
  return X;
}

// numpy.fft.irfft2 without normalisation: complex inverse down the columns, then the c2r
// row transform, which reads only the real part of bin 0 (and of bin W/2 for even W).
std::vector<double> naive_irfft2(const cd* X, int H, int W) {
  const int Wc = W / 2 + 1;
  std::vector<cd> Y(size_t(H) * Wc);
  for (int m = 0; m < H; ++m)
    for (int l = 0; l < Wc; ++l) {
      cd s = 0;
      for (int k = 0; k < H; ++k) s += X[size_t(k) * Wc + l] * std::polar(1.0, 2.0 * M_PI * k * m / H);
      Y[size_t(m) * Wc + l] = s;
    }
  std::vector<double> x(size_t(H) * W);
  for (int m = 0; m < H; ++m)
    for (int n = 0; n < W; ++n) {
      double s = Y[size_t(m) * Wc].real();
      for (int l = 1; l < Wc; ++l) {
        const bool nyquist = (W % 2 == 0) && l == W / 2;
        const cd term = Y[size_t(m) * Wc + l] * std::polar(1.0, 2.0 * M_PI * l * n / W);
        s += nyquist ? Y[size_t(m) * Wc + l].real() * std::cos(M_PI * n) : 2.0 * term.real();
      }
      x[size_t(m) * W + n] = s;
    }
  return x;
}

const int kShapes[][2] = {{6, 10}, {7, 5}, {16, 16}, {5, 8}, {1, 6}, {4, 1}, {3, 7}, {32, 12}};

double max_abs_diff(const cd* a, const cd* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("rfft2 matches the direct DFT for odd and even sizes, every norm, float and double", "[fft]") {
  const int64_t batch = 3;
  for (auto [H, W] : kShapes) {
    const int Wc = W / 2 + 1;
    const size_t n = size_t(H) * W, nc = size_t(H) * Wc;
    const auto x = random_real(batch * n, uint64_t(H * 100 + W));
    std::vector<float> xf(x.begin(), x.end());
    for (auto norm : {FftNorm::backward, FftNorm::ortho, FftNorm::forward}) {
      const double scale = sdkd::cpu::fft_scale(norm, int64_t(H) * W, false);
      std::vector<cd> X(batch * nc);
      std::vector<std::complex<float>> Xf(batch * nc);
      sdkd::cpu::rfft2(x.data(), X.data(), batch, H, W, norm);
      sdkd::cpu::rfft2(xf.data(), Xf.data(), batch, H, W, norm);
      for (int64_t b = 0; b < batch; ++b) {
        auto ref = naive_rfft2(x.data() + b * n, H, W);
        for (auto& v : ref) v *= scale;
        INFO("H " << H << " W " << W << " norm " << int(norm) << " batch item " << b);
        CHECK(max_abs_diff(X.data() + b * nc, ref.data(), nc) < 1e-12 * std::sqrt(double(n)) + 1e-13);
        std::vector<cd> got_f(Xf.begin() + b * nc, Xf.begin() + (b + 1) * nc);
        CHECK(max_abs_diff(got_f.data(), ref.data(), nc) < 1e-5 * scale * std::sqrt(double(n)) + 1e-6);
      }
    }
  }
}

TEST_CASE("irfft2 matches numpy's c2r definition, including ignored imaginary parts", "[fft]") {
  for (auto [H, W] : kShapes) {
    const int Wc = W / 2 + 1;
    const size_t n = size_t(H) * W, nc = size_t(H) * Wc;
    // An arbitrary half spectrum (not Hermitian in the self-conjugate bins) checks that the
    // imaginary parts numpy drops are dropped here too.
    const auto re = random_real(nc, 7), im = random_real(nc, 8);
    std::vector<cd> X(nc);
    std::vector<std::complex<float>> Xf(nc);
    for (size_t i = 0; i < nc; ++i) {
      X[i] = cd(re[i], im[i]);
      Xf[i] = std::complex<float>(float(re[i]), float(im[i]));
    }
    for (auto norm : {FftNorm::backward, FftNorm::ortho, FftNorm::forward}) {
      const double scale = sdkd::cpu::fft_scale(norm, int64_t(H) * W, true);
      auto ref = naive_irfft2(X.data(), H, W);
      std::vector<double> x(n);
      std::vector<float> xf(n);
      sdkd::cpu::irfft2(X.data(), x.data(), 1, H, W, norm);
      sdkd::cpu::irfft2(Xf.data(), xf.data(), 1, H, W, norm);
      INFO("H " << H << " W " << W << " norm " << int(norm));
      for (size_t i = 0; i < n; ++i) {
        CHECK(x[i] == Approx(scale * ref[i]).margin(1e-12 * n * scale));
        CHECK(xf[i] == Approx(scale * ref[i]).margin(3e-6 * n * scale));
      }
    }
  }
}

TEST_CASE("irfft2(rfft2(x)) == x and Parseval holds with half-spectrum weights", "[fft]") {
  for (auto [H, W] : kShapes) {
    const int Wc = W / 2 + 1;
    const size_t n = size_t(H) * W, nc = size_t(H) * Wc;
    const auto x = random_real(2 * n, 11);
    for (auto norm : {FftNorm::backward, FftNorm::ortho, FftNorm::forward}) {
      std::vector<cd> X(2 * nc);
      std::vector<double> back(2 * n);
      sdkd::cpu::rfft2(x.data(), X.data(), 2, H, W, norm);
      sdkd::cpu::irfft2(X.data(), back.data(), 2, H, W, norm);
      INFO("H " << H << " W " << W << " norm " << int(norm));
      for (size_t i = 0; i < 2 * n; ++i) CHECK(back[i] == Approx(x[i]).margin(1e-12));

      // Columns 1..ceil(W/2)-1 stand for two conjugate bins each.
      double energy_x = 0, energy_X = 0;
      for (size_t i = 0; i < n; ++i) energy_x += x[i] * x[i];
      for (int k = 0; k < H; ++k)
        for (int l = 0; l < Wc; ++l) {
          const bool single = l == 0 || (W % 2 == 0 && l == W / 2);
          energy_X += (single ? 1.0 : 2.0) * std::norm(X[size_t(k) * Wc + l]);
        }
      const double s = sdkd::cpu::fft_scale(norm, int64_t(n), false);
      CHECK(energy_X / (s * s * double(n)) == Approx(energy_x).epsilon(1e-12));
    }
  }
}

TEST_CASE("float (kissfft) and double (own) transforms agree on a 64x64 batch", "[fft]") {
  const int H = 64, W = 64, Wc = 33;
  const int64_t batch = 4;
  const auto x = random_real(batch * H * W, 3);
  std::vector<float> xf(x.begin(), x.end());
  std::vector<cd> X(batch * H * Wc);
  std::vector<std::complex<float>> Xf(batch * H * Wc);
  sdkd::cpu::rfft2(x.data(), X.data(), batch, H, W, FftNorm::ortho);
  sdkd::cpu::rfft2(xf.data(), Xf.data(), batch, H, W, FftNorm::ortho);
  double err = 0, ref = 0;
  for (size_t i = 0; i < X.size(); ++i) {
    err += std::norm(cd(Xf[i]) - X[i]);
    ref += std::norm(X[i]);
  }
  CHECK(std::sqrt(err / ref) < 1e-6);
  std::vector<float> back(xf.size());
  sdkd::cpu::irfft2(Xf.data(), back.data(), batch, H, W, FftNorm::ortho);
  for (size_t i = 0; i < xf.size(); ++i) CHECK(back[i] == Approx(xf[i]).margin(1e-5));
}

TEST_CASE("batched transforms give the same bits whatever the thread count", "[fft]") {
  const int H = 12, W = 10, Wc = 6;
  const int64_t batch = 5;
  const auto x = random_real(batch * H * W, 5);
  std::vector<cd> one(batch * H * Wc), two(batch * H * Wc);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  sdkd::cpu::rfft2(x.data(), one.data(), batch, H, W, FftNorm::backward);
  omp_set_num_threads(2);
  sdkd::cpu::rfft2(x.data(), two.data(), batch, H, W, FftNorm::backward);
  omp_set_num_threads(saved);
  CHECK(one == two);
  // And batch item b equals the transform of item b alone.
  std::vector<cd> alone(size_t(H) * Wc);
  sdkd::cpu::rfft2(x.data() + 3 * H * W, alone.data(), 1, H, W, FftNorm::backward);
  CHECK(std::equal(alone.begin(), alone.end(), one.begin() + 3 * H * Wc));
}

TEST_CASE("rfft2 rejects bad shapes with a message naming them", "[fft]") {
  std::vector<double> x(4);
  std::vector<cd> X(4);
  CHECK_THROWS_WITH(sdkd::cpu::rfft2(x.data(), X.data(), 1, 0, 4, FftNorm::backward),
                    Catch::Contains("rfft2") && Catch::Contains("H 0"));
  CHECK_THROWS_AS(sdkd::cpu::irfft2(X.data(), x.data(), -1, 2, 2, FftNorm::backward), sdkd::Error);
}
