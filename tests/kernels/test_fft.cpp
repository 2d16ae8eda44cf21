// The batched real 2-D FFT against direct sums written from numpy's definitions, plus the
// identities it must satisfy (round trip, Parseval with the half-spectrum weights) and the
// agreement of the float and double paths (both our own FFT), and with kissfft (the old float
// path, now only an oracle and the benchmark's yardstick): every length from radix 2 to
// Bluestein, the 1-D plans directly for every length up to 300, determinism across threads.
#include <catch2/catch.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kernels/cpu/fft.hpp"
#include "kernels/cpu/fft_kissfft.hpp"
#include "kernels/cpu/fft_plan.hpp"
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

TEST_CASE("float and double transforms agree on a 64x64 batch", "[fft]") {
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

// ---- every kind of length: mixed radix, Bluestein, both precisions, kissfft as a second oracle ----

namespace {

using ld = long double;
using cld = std::complex<long double>;

// Powers of two, the 3/5/7 mixed radices, 11^2 (the 11-point butterfly twice), and the primes
// 97, 101, 131 (no butterfly: Bluestein through 256 and 512 points).
const int kLengths[] = {1,  2,  3,  4,  5,   6,  7,   8,   9,   12,  15,  16,  25,  27,
                        30, 49, 60, 64, 96, 97, 100, 101, 121, 128, 131, 192, 250, 256};

// e^{sign 2 pi i m / n}, m < n.
std::vector<cld> unit_roots(int n, int sign) {
  const ld pi = std::acos(-1.0L);
  std::vector<cld> w(static_cast<size_t>(n));
  for (int m = 0; m < n; ++m) w[size_t(m)] = std::polar(1.0L, sign * 2 * pi * m / n);
  return w;
}

// numpy.fft.rfft2 without normalisation of one map, separably (rows, then columns) in long
// double: O(HW (H + W)), so every shape up to 256 x 256 stays cheap.
std::vector<cd> separable_rfft2(const double* x, int H, int W) {
  const int Wc = W / 2 + 1;
  const auto wr = unit_roots(W, -1), wc = unit_roots(H, -1);
  std::vector<cld> R(size_t(H) * Wc);
  for (int r = 0; r < H; ++r)
    for (int l = 0; l < Wc; ++l) {
      cld s = 0;
      for (int n = 0; n < W; ++n) s += ld(x[size_t(r) * W + n]) * wr[size_t(int64_t(l) * n % W)];
      R[size_t(r) * Wc + l] = s;
    }
  std::vector<cd> X(size_t(H) * Wc);
  for (int k = 0; k < H; ++k)
    for (int l = 0; l < Wc; ++l) {
      cld s = 0;
      for (int r = 0; r < H; ++r) s += R[size_t(r) * Wc + l] * wc[size_t(int64_t(k) * r % H)];
      X[size_t(k) * Wc + l] = cd(double(s.real()), double(s.imag()));
    }
  return X;
}

// numpy.fft.irfft2 without normalisation, separably: the complex inverse down the columns, then
// the c2r rows, which read only the real parts of bin 0 and (even W) bin W/2.
std::vector<double> separable_irfft2(const cd* X, int H, int W) {
  const int Wc = W / 2 + 1;
  const auto wr = unit_roots(W, +1), wc = unit_roots(H, +1);
  std::vector<cld> Y(size_t(H) * Wc);
  for (int m = 0; m < H; ++m)
    for (int l = 0; l < Wc; ++l) {
      cld s = 0;
      for (int k = 0; k < H; ++k) s += cld(X[size_t(k) * Wc + l]) * wc[size_t(int64_t(k) * m % H)];
      Y[size_t(m) * Wc + l] = s;
    }
  std::vector<double> x(size_t(H) * W);
  for (int m = 0; m < H; ++m)
    for (int n = 0; n < W; ++n) {
      ld s = Y[size_t(m) * Wc].real();
      for (int l = 1; l < Wc; ++l) {
        const cld y = Y[size_t(m) * Wc + l];
        if (W % 2 == 0 && l == W / 2) s += (n % 2 == 0 ? 1 : -1) * y.real();
        else s += 2 * (y * wr[size_t(int64_t(l) * n % W)]).real();
      }
      x[size_t(m) * W + n] = double(s);
    }
  return x;
}

struct Shape2 {
  int H, W;
};

// Each length as W (with H = 1 and 3) and as H (with W = 1 and 5, odd), squares, and a few
// rectangles mixing the plan kinds.
std::vector<Shape2> every_length_shapes() {
  std::vector<Shape2> out;
  for (int n : kLengths)
    for (Shape2 s : {Shape2{1, n}, Shape2{3, n}, Shape2{n, 1}, Shape2{n, 5}, Shape2{n, n}}) out.push_back(s);
  // 5 x 512: irfft2's blocked last pass in float too (rows 4 KiB apart), with an odd last row.
  for (Shape2 s : {Shape2{96, 97}, Shape2{131, 100}, Shape2{27, 250}, Shape2{49, 121}, Shape2{192, 15}, Shape2{5, 512}})
    out.push_back(s);
  return out;
}

template <typename T>
constexpr double kEps = std::numeric_limits<T>::epsilon();

// max |got - ref| / max |ref| allowed: the FFT's error grows like eps log2 n (Bluestein's too,
// through its 2n..4n-point convolution); 6 eps log2(2HW) is 6 times the worst error measured
// over these shapes (Bluestein lengths the worst).
template <typename T>
double fft_tol(int H, int W) {
  return 6 * kEps<T> * std::log2(2.0 * H * W);
}

template <typename C>
double max_abs(const std::vector<C>& v) {
  double m = 0;
  for (const auto& e : v) m = std::max(m, double(std::abs(e)));
  return m;
}

// max |a - b| / max |b| over two sequences of real or complex numbers.
template <typename A, typename B>
double rel_err(const std::vector<A>& a, const std::vector<B>& b) {
  double m = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if constexpr (std::is_arithmetic_v<A>) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
    else m = std::max(m, std::abs(cd(a[i]) - cd(b[i])));
    r = std::max(r, double(std::abs(b[i])));
  }
  return r > 0 ? m / r : m;
}

template <typename T>
std::vector<std::complex<T>> run_rfft2(const std::vector<double>& x, int64_t batch, int H, int W, FftNorm norm) {
  const std::vector<T> xt(x.begin(), x.end());
  std::vector<std::complex<T>> X(size_t(batch) * H * (W / 2 + 1));
  sdkd::cpu::rfft2(xt.data(), X.data(), batch, H, W, norm);
  return X;
}

template <typename T>
std::vector<T> run_irfft2(const std::vector<cd>& X, int64_t batch, int H, int W, FftNorm norm) {
  std::vector<std::complex<T>> Xt(X.size());
  for (size_t i = 0; i < X.size(); ++i) Xt[i] = std::complex<T>(T(X[i].real()), T(X[i].imag()));
  std::vector<T> x(size_t(batch) * H * W);
  sdkd::cpu::irfft2(Xt.data(), x.data(), batch, H, W, norm);
  return x;
}

std::vector<cd> random_spectrum(size_t n, uint64_t stream) {
  const auto re = random_real(n, stream), im = random_real(n, stream + 1);
  std::vector<cd> X(n);
  for (size_t i = 0; i < n; ++i) X[i] = cd(re[i], im[i]);
  return X;
}

template <typename T>
void check_against_separable(int H, int W) {
  const int Wc = W / 2 + 1;
  const size_t n = size_t(H) * W, nc = size_t(H) * Wc;
  const int64_t batch = 2;
  const auto x = random_real(batch * n, uint64_t(H) * 1000 + W);
  const auto Xin = random_spectrum(batch * nc, uint64_t(H) * 1000 + W + 5000000);
  const auto X = run_rfft2<T>(x, batch, H, W, FftNorm::backward);
  const auto back = run_irfft2<T>(Xin, batch, H, W, FftNorm::forward);  // no factor on the inverse
  for (int64_t b = 0; b < batch; ++b) {
    const auto ref = separable_rfft2(x.data() + b * n, H, W);
    const std::vector<std::complex<T>> got(X.begin() + b * nc, X.begin() + (b + 1) * nc);
    const auto ref_x = separable_irfft2(Xin.data() + b * nc, H, W);
    const std::vector<T> got_x(back.begin() + b * n, back.begin() + (b + 1) * n);
    INFO("H " << H << " W " << W << " item " << b << (sizeof(T) == 4 ? " float" : " double"));
    CHECK(rel_err(got, ref) < fft_tol<T>(H, W));
    CHECK(rel_err(got_x, ref_x) < fft_tol<T>(H, W));
  }
}

}  // namespace

TEST_CASE("rfft2 and irfft2 match a separable long-double DFT for every kind of length", "[fft]") {
  for (Shape2 s : every_length_shapes()) {
    check_against_separable<double>(s.H, s.W);
    check_against_separable<float>(s.H, s.W);
  }
}

TEST_CASE("every norm scales the transforms as numpy's, on mixed-radix and Bluestein shapes", "[fft]") {
  for (Shape2 s : {Shape2{12, 10}, Shape2{97, 6}, Shape2{5, 131}, Shape2{25, 27}}) {
    const int H = s.H, W = s.W, Wc = W / 2 + 1;
    const auto x = random_real(size_t(H) * W, 21);
    const auto Xin = random_spectrum(size_t(H) * Wc, 22);
    const auto ref = separable_rfft2(x.data(), H, W);
    const auto ref_x = separable_irfft2(Xin.data(), H, W);
    for (auto norm : {FftNorm::backward, FftNorm::ortho, FftNorm::forward}) {
      const double fs = sdkd::cpu::fft_scale(norm, int64_t(H) * W, false);
      const double is = sdkd::cpu::fft_scale(norm, int64_t(H) * W, true);
      std::vector<cd> scaled(ref.size());
      std::vector<double> scaled_x(ref_x.size());
      for (size_t i = 0; i < ref.size(); ++i) scaled[i] = fs * ref[i];
      for (size_t i = 0; i < ref_x.size(); ++i) scaled_x[i] = is * ref_x[i];
      INFO("H " << H << " W " << W << " norm " << int(norm));
      CHECK(rel_err(run_rfft2<double>(x, 1, H, W, norm), scaled) < fft_tol<double>(H, W));
      CHECK(rel_err(run_rfft2<float>(x, 1, H, W, norm), scaled) < fft_tol<float>(H, W));
      CHECK(rel_err(run_irfft2<double>(Xin, 1, H, W, norm), scaled_x) < fft_tol<double>(H, W));
      CHECK(rel_err(run_irfft2<float>(Xin, 1, H, W, norm), scaled_x) < fft_tol<float>(H, W));
    }
  }
}

TEST_CASE("round trip and Parseval hold for every kind of length, float and double", "[fft]") {
  for (Shape2 s : every_length_shapes()) {
    const int H = s.H, W = s.W, Wc = W / 2 + 1;
    const size_t n = size_t(H) * W;
    const auto x = random_real(2 * n, 31);
    const auto X = run_rfft2<double>(x, 2, H, W, FftNorm::ortho);
    const auto Xf = run_rfft2<float>(x, 2, H, W, FftNorm::ortho);
    INFO("H " << H << " W " << W);
    CHECK(rel_err(run_irfft2<double>(X, 2, H, W, FftNorm::ortho), x) < fft_tol<double>(H, W));
    std::vector<cd> Xfd(Xf.begin(), Xf.end());
    CHECK(rel_err(run_irfft2<float>(Xfd, 2, H, W, FftNorm::ortho), x) < 2 * fft_tol<float>(H, W));
    double energy_x = 0, energy_X = 0, energy_Xf = 0;
    for (size_t i = 0; i < 2 * n; ++i) energy_x += x[i] * x[i];
    for (size_t i = 0; i < X.size(); ++i) {
      const int l = int(i % size_t(Wc));
      const double w = (l == 0 || (W % 2 == 0 && l == W / 2)) ? 1.0 : 2.0;
      energy_X += w * std::norm(X[i]);
      energy_Xf += w * std::norm(cd(Xf[i]));
    }
    CHECK(energy_X == Approx(energy_x).epsilon(1e-12));
    CHECK(energy_Xf == Approx(energy_x).epsilon(1e-5));
  }
}

TEST_CASE("float agrees with double and with kissfft for every kind of length", "[fft]") {
  for (Shape2 s : every_length_shapes()) {
    const int H = s.H, W = s.W, Wc = W / 2 + 1;
    const int64_t batch = 3;
    const auto x = random_real(batch * size_t(H) * W, 41);
    const std::vector<float> xf(x.begin(), x.end());
    const auto X = run_rfft2<double>(x, batch, H, W, FftNorm::ortho);
    const auto Xf = run_rfft2<float>(x, batch, H, W, FftNorm::ortho);
    std::vector<std::complex<float>> Xk(Xf.size());
    sdkd::cpu::rfft2_kissfft(xf.data(), Xk.data(), batch, H, W, FftNorm::ortho);
    const auto Xin = random_spectrum(batch * size_t(H) * Wc, 42);
    const auto y = run_irfft2<double>(Xin, batch, H, W, FftNorm::ortho);
    const auto yf = run_irfft2<float>(Xin, batch, H, W, FftNorm::ortho);
    std::vector<std::complex<float>> Xinf(Xin.begin(), Xin.end());
    std::vector<float> yk(yf.size());
    sdkd::cpu::irfft2_kissfft(Xinf.data(), yk.data(), batch, H, W, FftNorm::ortho);
    INFO("H " << H << " W " << W);
    CHECK(rel_err(Xf, X) < fft_tol<float>(H, W));
    CHECK(rel_err(Xf, Xk) < 2 * fft_tol<float>(H, W));
    CHECK(rel_err(yf, y) < fft_tol<float>(H, W));
    CHECK(rel_err(yf, yk) < 2 * fft_tol<float>(H, W));
  }
}

// kissfft's double transform (the C++ template; the benchmark's float64 yardstick) against our
// double FFT: the same values to double round-off, odd and even widths, every norm.
TEST_CASE("double agrees with kissfft's double transform for every kind of length", "[fft]") {
  for (Shape2 s : every_length_shapes())
    for (FftNorm norm : {FftNorm::backward, FftNorm::ortho, FftNorm::forward}) {
      const int H = s.H, W = s.W, Wc = W / 2 + 1;
      const int64_t batch = 3;
      const auto x = random_real(batch * size_t(H) * W, 43);
      const auto X = run_rfft2<double>(x, batch, H, W, norm);
      std::vector<std::complex<double>> Xk(X.size());
      sdkd::cpu::rfft2_kissfft(x.data(), Xk.data(), batch, H, W, norm);
      const auto Xin = random_spectrum(batch * size_t(H) * Wc, 44);
      const auto y = run_irfft2<double>(Xin, batch, H, W, norm);
      std::vector<double> yk(y.size());
      sdkd::cpu::irfft2_kissfft(Xin.data(), yk.data(), batch, H, W, norm);
      INFO("H " << H << " W " << W << " norm " << int(norm));
      CHECK(rel_err(Xk, X) < fft_tol<double>(H, W));
      CHECK(rel_err(yk, y) < fft_tol<double>(H, W));
    }
}

namespace {

// The bits of batch-item outputs: with 1 and 2 threads, alone or in the batch, before and
// after other shapes have been planned on the thread.
template <typename T>
void check_same_bits(int64_t batch, int H, int W) {
  const int Wc = W / 2 + 1;
  const size_t n = size_t(H) * W, nc = size_t(H) * Wc;
  const auto x = random_real(batch * n, 51);
  const auto Xin = random_spectrum(batch * nc, 52);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = run_rfft2<T>(x, batch, H, W, FftNorm::ortho);
  const auto one_x = run_irfft2<T>(Xin, batch, H, W, FftNorm::ortho);
  omp_set_num_threads(2);
  const auto two = run_rfft2<T>(x, batch, H, W, FftNorm::ortho);
  const auto two_x = run_irfft2<T>(Xin, batch, H, W, FftNorm::ortho);
  omp_set_num_threads(saved);
  INFO("batch " << batch << " H " << H << " W " << W << (sizeof(T) == 4 ? " float" : " double"));
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(one[0])) == 0);
  CHECK(std::memcmp(one_x.data(), two_x.data(), one_x.size() * sizeof(one_x[0])) == 0);
  // Other shapes in between, then each item alone (another group, another lane).
  (void)run_rfft2<T>(random_real(7 * 30, 53), 7, 6, 5, FftNorm::backward);
  (void)run_irfft2<T>(random_spectrum(3 * 97 * 2, 54), 3, 97, 2, FftNorm::backward);
  for (int64_t b : {int64_t(0), batch / 2, batch - 1}) {
    const std::vector<double> xb(x.begin() + b * n, x.begin() + (b + 1) * n);
    const std::vector<cd> Xb(Xin.begin() + b * nc, Xin.begin() + (b + 1) * nc);
    const auto alone = run_rfft2<T>(xb, 1, H, W, FftNorm::ortho);
    const auto alone_x = run_irfft2<T>(Xb, 1, H, W, FftNorm::ortho);
    INFO("item " << b);
    CHECK(std::memcmp(alone.data(), one.data() + b * nc, nc * sizeof(alone[0])) == 0);
    CHECK(std::memcmp(alone_x.data(), one_x.data() + b * n, n * sizeof(alone_x[0])) == 0);
  }
}

}  // namespace

TEST_CASE("grouped, mixed-radix and Bluestein transforms give the same bits whatever the thread count", "[fft]") {
  // Small maps in large batches are transformed in groups (lanes of several maps side by side:
  // here 16 x 16 in groups of 16, 12 x 10 of 12, 1 x 100 of 18; the last group shorter), so an
  // item alone lands on other lanes; 96 x 96 and larger go one map at a time.
  for (auto [batch, H, W] : {std::tuple{600, 16, 16}, std::tuple{200, 12, 10}, std::tuple{300, 1, 100},
                             std::tuple{3, 96, 96}, std::tuple{5, 131, 7}, std::tuple{4, 128, 128}}) {
    check_same_bits<double>(batch, H, W);
    check_same_bits<float>(batch, H, W);
  }
}

namespace {

// The 1-D plan against the DFT by definition, forward and inverse, on `lanes` signals.
template <typename T>
double plan_error(int n, bool inverse) {
  const int lanes = 3;
  const sdkd::cpu::fft_detail::LaneFft<T> plan(n);
  const auto in = random_spectrum(size_t(n) * lanes, uint64_t(n) * 2 + inverse);
  std::vector<T> re(in.size()), im(in.size()), scratch;
  for (int j = 0; j < n; ++j)
    for (int l = 0; l < lanes; ++l) {
      re[size_t(plan.slot(j)) * lanes + l] = T(in[size_t(j) * lanes + l].real());
      im[size_t(plan.slot(j)) * lanes + l] = T(in[size_t(j) * lanes + l].imag());
    }
  plan.run(re.data(), im.data(), lanes, inverse, scratch);
  const auto w = unit_roots(n, inverse ? +1 : -1);
  double err = 0, ref = 0;
  for (int k = 0; k < n; ++k)
    for (int l = 0; l < lanes; ++l) {
      cld s = 0;
      for (int j = 0; j < n; ++j) s += cld(in[size_t(j) * lanes + l]) * w[size_t(int64_t(j) * k % n)];
      const cd got(re[size_t(k) * lanes + l], im[size_t(k) * lanes + l]);
      err = std::max(err, std::abs(got - cd(double(s.real()), double(s.imag()))));
      ref = std::max(ref, double(std::abs(s)));
    }
  return err / ref;
}

}  // namespace

TEST_CASE("the 1-D lane plan is the DFT for every length up to 300, float and double", "[fft]") {
  for (int n = 1; n <= 300; ++n) {
    INFO("n " << n);
    for (bool inverse : {false, true}) {
      CHECK(plan_error<double>(n, inverse) < fft_tol<double>(1, n));
      CHECK(plan_error<float>(n, inverse) < fft_tol<float>(1, n));
    }
  }
  // Large lengths of each kind, by the inverse undoing the forward transform.
  for (int n : {2048, 3 * 3 * 3 * 3 * 3 * 3 * 3, 5 * 5 * 5 * 5 * 5, 7 * 11 * 13 * 4, 4099, 17 * 241}) {
    const int lanes = 2;
    const sdkd::cpu::fft_detail::LaneFft<double> plan(n);
    const auto in = random_spectrum(size_t(n) * lanes, uint64_t(n));
    std::vector<double> re(in.size()), im(in.size()), scratch;
    for (int j = 0; j < n; ++j)
      for (int l = 0; l < lanes; ++l) {
        re[size_t(plan.slot(j)) * lanes + l] = in[size_t(j) * lanes + l].real();
        im[size_t(plan.slot(j)) * lanes + l] = in[size_t(j) * lanes + l].imag();
      }
    plan.run(re.data(), im.data(), lanes, false, scratch);
    std::vector<double> re2(in.size()), im2(in.size());
    for (int j = 0; j < n; ++j)
      for (int l = 0; l < lanes; ++l) {
        re2[size_t(plan.slot(j)) * lanes + l] = re[size_t(j) * lanes + l] / n;
        im2[size_t(plan.slot(j)) * lanes + l] = im[size_t(j) * lanes + l] / n;
      }
    plan.run(re2.data(), im2.data(), lanes, true, scratch);
    double err = 0;
    for (size_t i = 0; i < in.size(); ++i) err = std::max(err, std::abs(cd(re2[i], im2[i]) - in[i]));
    INFO("n " << n);
    CHECK(err < 4 * fft_tol<double>(1, n));
  }
}
