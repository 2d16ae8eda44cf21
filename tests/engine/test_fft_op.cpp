// rfft2 / irfft2 autograd ops: values against a direct DFT, round trips, Parseval with the
// column weights, finite differences, and the adjoints against brute-force transposed matrices.
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>

#include "gradcheck.hpp"
#include "sdkd/fft.hpp"

using namespace sdkd;
using sdkd::test::gradcheck;
using sdkd::test::randn64;

namespace {

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Orthonormal half spectrum of each (H, W) plane by the O((HW)^2) definition, as (re, im).
std::vector<double> direct_rfft2(const std::vector<double>& x, int64_t batch, int64_t H, int64_t W) {
  const int64_t Wc = W / 2 + 1;
  const double pi = 3.14159265358979323846, norm = 1.0 / std::sqrt(double(H * W));
  std::vector<double> X(size_t(batch * H * Wc * 2));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 0; k < H; ++k)
      for (int64_t l = 0; l < Wc; ++l) {
        std::complex<double> acc = 0;
        for (int64_t m = 0; m < H; ++m)
          for (int64_t n = 0; n < W; ++n) {
            const double angle = -2 * pi * (double(k * m) / double(H) + double(l * n) / double(W));
            acc += x[size_t((b * H + m) * W + n)] * std::polar(1.0, angle);
          }
        const size_t at = size_t(((b * H + k) * Wc + l) * 2);
        X[at] = norm * acc.real();
        X[at + 1] = norm * acc.imag();
      }
  return X;
}

Tensor unit(const Shape& shape, int64_t j) {
  Tensor e = Tensor::zeros(shape, DType::f64);
  e.data<double>()[j] = 1.0;
  return e;
}

}  // namespace

TEST_CASE("rfft2 matches a direct orthonormal DFT for odd and even sizes", "[fft]") {
  const Shape shapes[] = {{2, 3, 4}, {5, 6}, {4, 7}, {2, 2, 3, 5}, {1, 8, 8}};
  for (const auto& s : shapes) {
    INFO("shape " << shape_str(s));
    const Tensor x = randn64(s, 1);
    const int64_t H = s[s.size() - 2], W = s.back(), batch = x.numel() / (H * W);
    const Tensor X = rfft2(x);
    Shape want = s;
    want.back() = W / 2 + 1;
    want.push_back(2);
    REQUIRE(X.shape() == want);
    const auto ref = direct_rfft2(x.to_double_vector(), batch, H, W);
    CHECK(max_abs_diff(X.to_double_vector(), ref) < 1e-12);
    CHECK(max_abs_diff(rfft2(x.to(DType::f32)).to_double_vector(), ref) < 1e-5);
  }
}

TEST_CASE("irfft2 inverts rfft2 and Parseval holds with the column weights", "[fft]") {
  CHECK(rfft2_column_weights(1) == std::vector<double>{1});
  CHECK(rfft2_column_weights(2) == std::vector<double>{1, 1});
  CHECK(rfft2_column_weights(4) == std::vector<double>{1, 2, 1});
  CHECK(rfft2_column_weights(5) == std::vector<double>{1, 2, 2});
  for (int64_t W : {1, 4, 5, 8}) {
    INFO("W " << W);
    const Tensor x = randn64({3, 4, W}, 2);
    const Tensor X = rfft2(x);
    CHECK(max_abs_diff(irfft2(X, W).to_double_vector(), x.to_double_vector()) < 1e-12);
    CHECK(max_abs_diff(irfft2(X.to(DType::f32), W).to_double_vector(), x.to_double_vector()) < 1e-5);
    const auto xv = x.to_double_vector(), Xv = X.to_double_vector();
    const auto w = rfft2_column_weights(W);
    double spectral = 0;
    for (size_t i = 0; i < Xv.size(); i += 2) spectral += w[(i / 2) % w.size()] * (Xv[i] * Xv[i] + Xv[i + 1] * Xv[i + 1]);
    CHECK(spectral == Approx(dot(xv, xv)).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(irfft2(Tensor::zeros({3, 3, 2}, DType::f64), 6), Catch::Contains("W/2+1 = 4"));
  CHECK_THROWS_WITH(rfft2(Tensor::zeros({5}, DType::f64)), Catch::Contains("rfft2"));
}

TEST_CASE("rfft2 and irfft2 pass float64 gradient checks", "[fft][autograd]") {
  for (int64_t W : {4, 5}) {
    INFO("W " << W);
    CHECK(gradcheck([](const std::vector<Tensor>& in) { return rfft2(in[0]); }, {randn64({2, 3, W}, 3)}).passed());
    CHECK(gradcheck([W](const std::vector<Tensor>& in) { return irfft2(in[0], W); }, {randn64({2, 3, W / 2 + 1, 2}, 4)}).passed());
    // Through a strided view and back out: the spectrum of a transposed plane.
    CHECK(gradcheck([W](const std::vector<Tensor>& in) { return irfft2(rfft2(in[0].transpose(1, 2)), 3); },
              {randn64({1, 3, W}, 5)}).passed());
  }
}

TEST_CASE("the backward passes are the exact adjoints (brute-force transposed matrices)", "[fft][autograd]") {
  const std::pair<int64_t, int64_t> sizes[] = {{3, 4}, {4, 4}, {3, 5}, {4, 5}};
  for (const auto& [H, W] : sizes) {
    INFO("H " << H << " W " << W);
    const int64_t Wc = W / 2 + 1, n_real = H * W, n_spec = H * Wc * 2;
    // Matrix of rfft2 (n_spec x n_real), column j = rfft2(e_j).
    std::vector<double> A(size_t(n_spec * n_real));
    for (int64_t j = 0; j < n_real; ++j) {
      const auto col = rfft2(unit({H, W}, j)).to_double_vector();
      for (int64_t i = 0; i < n_spec; ++i) A[size_t(i * n_real + j)] = col[size_t(i)];
    }
    // rfft2^T(Y) from the backward pass against A^T Y.
    const Tensor Y = randn64({H, Wc, 2}, 6);
    const auto yv = Y.to_double_vector();
    Tensor x = randn64({H, W}, 7).set_requires_grad(true);
    const Tensor X = rfft2(x);
    X.backward(Y);
    const auto back = x.grad().to_double_vector();
    std::vector<double> brute(size_t(n_real), 0.0);
    for (int64_t j = 0; j < n_real; ++j)
      for (int64_t i = 0; i < n_spec; ++i) brute[size_t(j)] += A[size_t(i * n_real + j)] * yv[size_t(i)];
    CHECK(max_abs_diff(back, brute) < 1e-12);
    CHECK(dot(X.to_double_vector(), yv) == Approx(dot(x.to_double_vector(), back)).epsilon(1e-12));
    // The point of the weights: the plain inverse is not the adjoint.
    CHECK(max_abs_diff(irfft2(Y, W).to_double_vector(), brute) > 1e-3);

    // Matrix of irfft2 (n_real x n_spec), column j = irfft2(e_j); its transpose against the backward.
    std::vector<double> B(size_t(n_real * n_spec));
    for (int64_t j = 0; j < n_spec; ++j) {
      const auto col = irfft2(unit({H, Wc, 2}, j), W).to_double_vector();
      for (int64_t i = 0; i < n_real; ++i) B[size_t(i * n_spec + j)] = col[size_t(i)];
    }
    const Tensor g = randn64({H, W}, 8);
    const auto gv = g.to_double_vector();
    Tensor Z = randn64({H, Wc, 2}, 9).set_requires_grad(true);
    irfft2(Z, W).backward(g);
    const auto zback = Z.grad().to_double_vector();
    std::vector<double> zbrute(size_t(n_spec), 0.0);
    for (int64_t j = 0; j < n_spec; ++j)
      for (int64_t i = 0; i < n_real; ++i) zbrute[size_t(j)] += B[size_t(i * n_spec + j)] * gv[size_t(i)];
    CHECK(max_abs_diff(zback, zbrute) < 1e-12);
  }
}

TEST_CASE("rfft2/irfft2 under the backward and forward norms are the direct DFT times numpy's factors", "[fft]") {
  const Shape shapes[] = {{2, 3, 4}, {5, 6}, {1, 4, 7}};
  for (const auto& s : shapes) {
    const int64_t H = s[s.size() - 2], W = s.back(), batch = shape_numel(s) / (H * W);
    const double n = double(H * W);
    const Tensor x = randn64(s, 41);
    const std::vector<double> ortho = direct_rfft2(x.to_double_vector(), batch, H, W);
    const struct {
      FftNorm norm;
      double forward_factor;  // relative to the orthonormal transform
    } cases[] = {{FftNorm::backward, std::sqrt(n)}, {FftNorm::forward, 1.0 / std::sqrt(n)}};
    for (const auto& c : cases) {
      std::vector<double> want = ortho;
      for (double& v : want) v *= c.forward_factor;
      const Tensor X = rfft2(x, c.norm);
      CHECK(max_abs_diff(X.to_double_vector(), want) < 1e-12 * std::max(1.0, c.forward_factor));
      // Each norm's inverse undoes its own forward transform.
      CHECK(max_abs_diff(irfft2(X, W, c.norm).to_double_vector(), x.to_double_vector()) < 1e-12);
    }
  }
}

TEST_CASE("rfft2/irfft2 under the non-orthonormal norms pass finite differences", "[fft]") {
  for (FftNorm norm : {FftNorm::backward, FftNorm::forward}) {
    CHECK(gradcheck([norm](const std::vector<Tensor>& in) { return rfft2(in[0], norm); }, {randn64({2, 3, 5}, 7)})
              .passed());
    CHECK(gradcheck([norm](const std::vector<Tensor>& in) { return irfft2(in[0], 4, norm); },
                    {randn64({2, 3, 3, 2}, 8)})
              .passed());
  }
}
