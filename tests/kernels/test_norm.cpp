// Normalisation kernels against independent computations: a naive double reference that
// indexes every element globally, central finite differences, identities between the three
// normalisations, float vs double, and bitwise equality across thread counts.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "common/numeric.hpp"
#include "kernels/cpu/norm.hpp"
#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

using namespace sdkd::cpu;

namespace {

using Vec = std::vector<double>;

Vec randn(size_t n, uint64_t stream, double scale = 1.0, double offset = 0.0) {
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * sdkd::Philox::normal(2024, stream, i);
  return v;
}

template <class T, class S>
std::vector<T> cast(const std::vector<S>& v) {
  std::vector<T> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](S a) { return T(a); });
  return out;
}

// The largest |got - want| / max(1, |want|): absolute near zero, relative for large values.
template <class T>
double max_err(const std::vector<T>& got, const Vec& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(want[i])));
  return worst;
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  // memcmp's pointers must not be null even for 0 bytes (empty vectors may hold null).
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

template <class T>
const T* ptr_or_null(const std::vector<T>& v) {
  return v.empty() ? nullptr : v.data();
}

// Textbook normalisation: element i belongs to statistics group group_of(i) and uses affine
// parameter param_of(i). Two full passes in double, no segments, no chunks.
struct Reference {
  Vec y, mean, invstd, unbiased_var;
};

Reference naive_normalise(const Vec& x, const Vec& gamma, const Vec& beta, size_t groups,
                          const std::function<size_t(size_t)>& group_of,
                          const std::function<size_t(size_t)>& param_of, double eps) {
  Reference ref;
  Vec count(groups, 0.0), sum(groups, 0.0), sq(groups, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    count[group_of(i)] += 1;
    sum[group_of(i)] += x[i];
  }
  ref.mean.resize(groups);
  for (size_t g = 0; g < groups; ++g) ref.mean[g] = sum[g] / count[g];
  // One correction pass makes the mean accurate to rounding even when |mean| >> std.
  Vec correction(groups, 0.0);
  for (size_t i = 0; i < x.size(); ++i) correction[group_of(i)] += x[i] - ref.mean[group_of(i)];
  for (size_t g = 0; g < groups; ++g) ref.mean[g] += correction[g] / count[g];
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - ref.mean[group_of(i)];
    sq[group_of(i)] += d * d;
  }
  ref.invstd.resize(groups);
  ref.unbiased_var.resize(groups);
  for (size_t g = 0; g < groups; ++g) {
    ref.invstd[g] = 1.0 / std::sqrt(sq[g] / count[g] + eps);
    ref.unbiased_var[g] = sq[g] / (count[g] - 1);
  }
  ref.y.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t g = group_of(i), p = param_of(i);
    const double scale = gamma.empty() ? 1.0 : gamma[p], shift = beta.empty() ? 0.0 : beta[p];
    ref.y[i] = (x[i] - ref.mean[g]) * ref.invstd[g] * scale + shift;
  }
  return ref;
}

Reference naive_batch_norm(const Vec& x, const Vec& gamma, const Vec& beta, size_t C, size_t HW,
                           double eps) {
  auto channel = [=](size_t i) { return (i / HW) % C; };
  return naive_normalise(x, gamma, beta, C, channel, channel, eps);
}

Reference naive_group_norm(const Vec& x, const Vec& gamma, const Vec& beta, size_t N, size_t C,
                           size_t HW, size_t G, double eps) {
  auto group = [=](size_t i) { return (i / (C * HW)) * G + ((i / HW) % C) / (C / G); };
  auto channel = [=](size_t i) { return (i / HW) % C; };
  return naive_normalise(x, gamma, beta, N * G, group, channel, eps);
}

Reference naive_layer_norm(const Vec& x, const Vec& gamma, const Vec& beta, size_t rows, size_t D,
                           double eps) {
  return naive_normalise(
      x, gamma, beta, rows, [=](size_t i) { return i / D; }, [=](size_t i) { return i % D; }, eps);
}

struct Grads {
  Vec dx, dgamma, dbeta;
};

// Central differences of L = sum(forward(x, gamma, beta) * r) with respect to every input.
Grads finite_difference(Vec x, Vec gamma, Vec beta, const Vec& r,
                        const std::function<Vec(const Vec&, const Vec&, const Vec&)>& forward) {
  const double h = 1e-6;
  auto loss = [&] {
    const Vec y = forward(x, gamma, beta);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * r[i];
    return l;
  };
  auto grad_of = [&](Vec& v) {
    Vec g(v.size());
    for (size_t i = 0; i < v.size(); ++i) g[i] = sdkd::test::central_difference(v[i], h, loss);
    return g;
  };
  return {grad_of(x), grad_of(gamma), grad_of(beta)};
}

constexpr double kEps = 1e-5;

struct BnShape {
  int64_t N, C, HW;
};
struct GnShape {
  int64_t N, C, HW, G;
};
struct LnShape {
  int64_t rows, D;
};

// Odd sizes, N = 1, HW = 1 and segments longer than one statistics chunk (512).
const std::vector<BnShape> kBnShapes = {{1, 3, 7},  {2, 1, 1},   {5, 4, 1},
                                        {3, 5, 13}, {1, 1, 600}, {2, 3, 1031}};
const std::vector<GnShape> kGnShapes = {{1, 4, 7, 2}, {2, 6, 1, 3},   {3, 6, 5, 1},
                                        {2, 6, 9, 6}, {1, 8, 600, 4}, {2, 5, 1, 5}};
const std::vector<LnShape> kLnShapes = {{1, 1}, {1, 7}, {5, 13}, {17, 1}, {3, 1100}, {40, 33}};

}  // namespace

// ---------------------------------------------------------------- forward vs naive

TEMPLATE_TEST_CASE(
    "batch_norm_forward_train matches a naive double reference and updates "
    "running stats",
    "[norm]", float, double) {
  using T = TestType;
  uint64_t stream = 0;
  for (const auto& s : kBnShapes) {
    for (const bool affine : {true, false}) {
      INFO("N=" << s.N << " C=" << s.C << " HW=" << s.HW << " affine=" << affine);
      const Vec xd = cast<double>(cast<T>(randn(size_t(s.N * s.C * s.HW), ++stream, 2.0, 0.5)));
      const Vec gd = affine ? cast<double>(cast<T>(randn(size_t(s.C), ++stream))) : Vec{};
      const Vec bd = affine ? cast<double>(cast<T>(randn(size_t(s.C), ++stream))) : Vec{};
      const Vec rm0 = cast<double>(cast<T>(randn(size_t(s.C), ++stream)));
      const Vec rv0 = cast<double>(cast<T>(randn(size_t(s.C), ++stream, 0.1, 1.0)));
      const auto x = cast<T>(xd), g = cast<T>(gd), b = cast<T>(bd);
      auto rm = cast<T>(rm0), rv = cast<T>(rv0);
      std::vector<T> y(x.size());
      Vec mean(size_t(s.C)), invstd(size_t(s.C));
      const double momentum = 0.1;
      batch_norm_forward_train(x.data(), ptr_or_null(g), ptr_or_null(b), y.data(), s.N, s.C, s.HW,
                               kEps, mean.data(), invstd.data(), rm.data(), rv.data(), momentum);
      const Reference ref = naive_batch_norm(xd, gd, bd, size_t(s.C), size_t(s.HW), kEps);
      CHECK(max_err(y, ref.y) < tolerance<T>());
      CHECK(max_err(mean, ref.mean) < tolerance<T>());
      CHECK(max_err(invstd, ref.invstd) < tolerance<T>());
      Vec want_rm(size_t(s.C)), want_rv(size_t(s.C));
      for (size_t c = 0; c < size_t(s.C); ++c) {
        want_rm[c] = (1 - momentum) * rm0[c] + momentum * ref.mean[c];
        want_rv[c] = (1 - momentum) * rv0[c] + momentum * ref.unbiased_var[c];
      }
      CHECK(max_err(rm, want_rm) < tolerance<T>());
      CHECK(max_err(rv, want_rv) < tolerance<T>());
    }
  }
}

TEMPLATE_TEST_CASE("batch_norm_forward_eval normalises with the running statistics", "[norm]",
                   float, double) {
  using T = TestType;
  const int64_t N = 3, C = 4, HW = 11;
  const Vec xd = cast<double>(cast<T>(randn(size_t(N * C * HW), 1)));
  const Vec gd = cast<double>(cast<T>(randn(C, 2))), bd = cast<double>(cast<T>(randn(C, 3)));
  const Vec rm = cast<double>(cast<T>(randn(C, 4))),
            rv = cast<double>(cast<T>(randn(C, 5, 0.2, 2)));
  for (const bool affine : {true, false}) {
    const auto x = cast<T>(xd), g = cast<T>(gd), b = cast<T>(bd);
    const auto rmT = cast<T>(rm), rvT = cast<T>(rv);
    std::vector<T> y(x.size());
    batch_norm_forward_eval(x.data(), affine ? g.data() : nullptr, affine ? b.data() : nullptr,
                            rmT.data(), rvT.data(), y.data(), N, C, HW, kEps);
    Vec want(x.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i) {
          const size_t k = size_t((n * C + c) * HW + i);
          want[k] = (xd[k] - rm[c]) / std::sqrt(rv[c] + kEps) * (affine ? gd[c] : 1.0) +
                    (affine ? bd[c] : 0.0);
        }
    CHECK(max_err(y, want) < tolerance<T>());
  }
}

TEMPLATE_TEST_CASE("group_norm_forward matches a naive double reference", "[norm]", float, double) {
  using T = TestType;
  uint64_t stream = 100;
  for (const auto& s : kGnShapes) {
    for (const bool affine : {true, false}) {
      INFO("N=" << s.N << " C=" << s.C << " HW=" << s.HW << " G=" << s.G << " affine=" << affine);
      const Vec xd = cast<double>(cast<T>(randn(size_t(s.N * s.C * s.HW), ++stream, 1.5, -0.7)));
      const Vec gd = affine ? cast<double>(cast<T>(randn(size_t(s.C), ++stream))) : Vec{};
      const Vec bd = affine ? cast<double>(cast<T>(randn(size_t(s.C), ++stream))) : Vec{};
      const auto x = cast<T>(xd), g = cast<T>(gd), b = cast<T>(bd);
      std::vector<T> y(x.size());
      Vec mean(size_t(s.N * s.G)), invstd(size_t(s.N * s.G));
      group_norm_forward(x.data(), ptr_or_null(g), ptr_or_null(b), y.data(), s.N, s.C, s.HW, s.G,
                         kEps, mean.data(), invstd.data());
      const Reference ref =
          naive_group_norm(xd, gd, bd, size_t(s.N), size_t(s.C), size_t(s.HW), size_t(s.G), kEps);
      CHECK(max_err(y, ref.y) < tolerance<T>());
      CHECK(max_err(mean, ref.mean) < tolerance<T>());
      // A group of one value has var 0 and invstd 1/sqrt(eps) ~ 316: compare relatively.
      CHECK(max_err(invstd, ref.invstd) < tolerance<T>());
    }
  }
}

TEMPLATE_TEST_CASE("layer_norm_forward matches a naive double reference", "[norm]", float, double) {
  using T = TestType;
  uint64_t stream = 200;
  for (const auto& s : kLnShapes) {
    for (const bool affine : {true, false}) {
      INFO("rows=" << s.rows << " D=" << s.D << " affine=" << affine);
      const Vec xd = cast<double>(cast<T>(randn(size_t(s.rows * s.D), ++stream, 3.0, 1.0)));
      const Vec gd = affine ? cast<double>(cast<T>(randn(size_t(s.D), ++stream))) : Vec{};
      const Vec bd = affine ? cast<double>(cast<T>(randn(size_t(s.D), ++stream))) : Vec{};
      const auto x = cast<T>(xd), g = cast<T>(gd), b = cast<T>(bd);
      std::vector<T> y(x.size());
      Vec mean(size_t(s.rows)), invstd(size_t(s.rows));
      layer_norm_forward(x.data(), ptr_or_null(g), ptr_or_null(b), y.data(), s.rows, s.D, kEps,
                         mean.data(), invstd.data());
      const Reference ref = naive_layer_norm(xd, gd, bd, size_t(s.rows), size_t(s.D), kEps);
      CHECK(max_err(y, ref.y) < tolerance<T>());
      CHECK(max_err(mean, ref.mean) < tolerance<T>());
      CHECK(max_err(invstd, ref.invstd) < tolerance<T>());
    }
  }
}

TEMPLATE_TEST_CASE("statistics stay accurate when |mean| >> std", "[norm]", float, double) {
  // float data around 1e4 breaks float accumulation; double data around 1e8 breaks the
  // one-pass E[x^2] - E[x]^2 formula even in double.
  using T = TestType;
  const double offset = std::is_same_v<T, float> ? 1e4 : 1e8;
  const int64_t N = 2, C = 3, HW = 1500;
  const Vec xd = cast<double>(cast<T>(randn(size_t(N * C * HW), 7, 1.0, offset)));
  const auto x = cast<T>(xd);
  std::vector<T> y(x.size());
  Vec mean(C), invstd(C);
  batch_norm_forward_train<T>(x.data(), nullptr, nullptr, y.data(), N, C, HW, kEps, mean.data(),
                              invstd.data(), nullptr, nullptr, 0.1);
  const Reference ref = naive_batch_norm(xd, {}, {}, size_t(C), size_t(HW), kEps);
  CHECK(max_err(invstd, ref.invstd) < 1e-5);
  CHECK(max_err(y, ref.y) < (std::is_same_v<T, float> ? 1e-3 : 1e-7));
  std::vector<T> ly(x.size());
  Vec lm(N * C), li(N * C);
  layer_norm_forward<T>(x.data(), nullptr, nullptr, ly.data(), N * C, HW, kEps, lm.data(),
                        li.data());
  const Reference lref = naive_layer_norm(xd, {}, {}, size_t(N * C), size_t(HW), kEps);
  CHECK(max_err(li, lref.invstd) < 1e-5);
}

TEST_CASE("float32 LayerNorm and GroupNorm dgamma keep double accuracy when |mean| >> std", "[norm]") {
  // Inputs of mean 1000 and std 1: the statistics are exact in double, but rounded to float
  // the mean is off by up to 3e-5 (half an ulp at 1000), i.e. 3e-5 of a standard deviation,
  // and dgamma = sum dy (x - mean) invstd inherits that error. The kernels keep the statistics
  // in double, so the float32 backward matches the float64 one to float rounding.
  const int64_t rows = 6, D = 4096, N = 2, C = 4, HW = 1024, G = 2;
  const size_t n = size_t(rows * D);
  const Vec xd = cast<double>(cast<float>(randn(n, 77, 1.0, 1000.0)));
  const Vec dyd = cast<double>(cast<float>(randn(n, 78)));
  const auto xf = cast<float>(xd), dyf = cast<float>(dyd);
  auto rel = [](const std::vector<float>& got, const Vec& want) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i)
      worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / std::max(1e-3, std::fabs(want[i])));
    return worst;
  };
  {  // LayerNorm over D, no affine
    Vec yd(n), md(rows), id(rows), dgd(size_t(D), 0.0), dbd(size_t(D), 0.0);
    layer_norm_forward<double>(xd.data(), nullptr, nullptr, yd.data(), rows, D, kEps, md.data(), id.data());
    layer_norm_backward<double>(dyd.data(), xd.data(), nullptr, md.data(), id.data(), nullptr, dgd.data(), dbd.data(),
                                rows, D);
    std::vector<float> yf(n), dgf(size_t(D), 0.f), dbf(size_t(D), 0.f);
    Vec mf(rows), inf(rows);
    layer_norm_forward<float>(xf.data(), nullptr, nullptr, yf.data(), rows, D, kEps, mf.data(), inf.data());
    CHECK(mf == md);  // the same double statistics from the same values
    layer_norm_backward<float>(dyf.data(), xf.data(), nullptr, mf.data(), inf.data(), nullptr, dgf.data(), dbf.data(),
                               rows, D);
    CHECK(rel(dgf, dgd) < 2e-6);
    // The defect this guards against: the same backward fed float-rounded statistics.
    const Vec mr = cast<double>(cast<float>(md)), ir = cast<double>(cast<float>(id));
    Vec dgr(size_t(D), 0.0), dbr(size_t(D), 0.0);
    layer_norm_backward<double>(dyd.data(), xd.data(), nullptr, mr.data(), ir.data(), nullptr, dgr.data(), dbr.data(),
                                rows, D);
    CHECK(rel(cast<float>(dgr), dgd) > 5e-6);
  }
  {  // GroupNorm, affine per channel
    const Vec g = randn(size_t(C), 79, 0.3, 1.0), b = randn(size_t(C), 80);
    const auto gf = cast<float>(g), bf = cast<float>(b);
    const size_t m = size_t(N * C * HW);
    Vec yd(m), md(size_t(N * G)), id(size_t(N * G)), dgd(size_t(C), 0.0), dbd(size_t(C), 0.0);
    group_norm_forward<double>(xd.data(), g.data(), b.data(), yd.data(), N, C, HW, G, kEps, md.data(), id.data());
    group_norm_backward<double>(dyd.data(), xd.data(), g.data(), md.data(), id.data(), nullptr, dgd.data(),
                                dbd.data(), N, C, HW, G);
    std::vector<float> yf(m), dgf(size_t(C), 0.f), dbf(size_t(C), 0.f);
    Vec mf(size_t(N * G)), inf(size_t(N * G));
    group_norm_forward<float>(xf.data(), gf.data(), bf.data(), yf.data(), N, C, HW, G, kEps, mf.data(), inf.data());
    group_norm_backward<float>(dyf.data(), xf.data(), gf.data(), mf.data(), inf.data(), nullptr, dgf.data(),
                               dbf.data(), N, C, HW, G);
    CHECK(rel(dgf, dgd) < 2e-6);
  }
}

// ---------------------------------------------------------------- backward vs finite differences

namespace {

void check_grads(const Grads& got, const Grads& fd) {
  CHECK(max_err(got.dx, fd.dx) < 1e-6);
  CHECK(max_err(got.dgamma, fd.dgamma) < 1e-6);
  CHECK(max_err(got.dbeta, fd.dbeta) < 1e-6);
}

}  // namespace

TEST_CASE("batch_norm_backward matches finite differences of the training forward", "[norm]") {
  uint64_t stream = 300;
  for (const BnShape s : {BnShape{2, 3, 5}, BnShape{1, 2, 6}, BnShape{4, 3, 1}}) {
    INFO("N=" << s.N << " C=" << s.C << " HW=" << s.HW);
    const size_t n = size_t(s.N * s.C * s.HW);
    const Vec x = randn(n, ++stream), g = randn(size_t(s.C), ++stream, 0.5, 1.0),
              b = randn(size_t(s.C), ++stream), r = randn(n, ++stream);
    const double eps = 1e-3;
    auto forward = [&](const Vec& xv, const Vec& gv, const Vec& bv) {
      Vec y(n), mean(size_t(s.C)), invstd(size_t(s.C));
      batch_norm_forward_train<double>(xv.data(), gv.data(), bv.data(), y.data(), s.N, s.C, s.HW,
                                       eps, mean.data(), invstd.data(), nullptr, nullptr, 0.1);
      return y;
    };
    Vec y(n), mean(size_t(s.C)), invstd(size_t(s.C));
    batch_norm_forward_train<double>(x.data(), g.data(), b.data(), y.data(), s.N, s.C, s.HW, eps,
                                     mean.data(), invstd.data(), nullptr, nullptr, 0.1);
    Grads got{Vec(n), Vec(size_t(s.C), 0.0), Vec(size_t(s.C), 0.0)};
    batch_norm_backward(r.data(), x.data(), g.data(), mean.data(), invstd.data(), got.dx.data(),
                        got.dgamma.data(), got.dbeta.data(), s.N, s.C, s.HW);
    check_grads(got, finite_difference(x, g, b, r, forward));

    // Optional outputs: null dx leaves the parameter gradients unchanged, dgamma / dbeta are
    // overwritten (what is there is ignored), and a null gamma means gamma = 1.
    Vec dg2(size_t(s.C), 0.5), db2(size_t(s.C), -0.25);
    batch_norm_backward<double>(r.data(), x.data(), g.data(), mean.data(), invstd.data(), nullptr,
                                dg2.data(), db2.data(), s.N, s.C, s.HW);
    for (size_t c = 0; c < size_t(s.C); ++c) {
      CHECK(dg2[c] == Approx(got.dgamma[c]).epsilon(1e-14));
      CHECK(db2[c] == Approx(got.dbeta[c]).epsilon(1e-14));
    }
    const Vec ones(size_t(s.C), 1.0);
    Vec dx_ones(n), dx_null(n);
    batch_norm_backward<double>(r.data(), x.data(), ones.data(), mean.data(), invstd.data(),
                                dx_ones.data(), nullptr, nullptr, s.N, s.C, s.HW);
    batch_norm_backward<double>(r.data(), x.data(), nullptr, mean.data(), invstd.data(),
                                dx_null.data(), nullptr, nullptr, s.N, s.C, s.HW);
    CHECK(bitwise_equal(dx_ones, dx_null));
  }
}

TEST_CASE("group_norm_backward matches finite differences", "[norm]") {
  uint64_t stream = 400;
  for (const GnShape s :
       {GnShape{2, 4, 3, 2}, GnShape{1, 6, 1, 3}, GnShape{2, 3, 4, 3}, GnShape{1, 2, 5, 1}}) {
    INFO("N=" << s.N << " C=" << s.C << " HW=" << s.HW << " G=" << s.G);
    const size_t n = size_t(s.N * s.C * s.HW), ng = size_t(s.N * s.G);
    const Vec x = randn(n, ++stream), g = randn(size_t(s.C), ++stream, 0.5, 1.0),
              b = randn(size_t(s.C), ++stream), r = randn(n, ++stream);
    const double eps = 1e-3;
    auto forward = [&](const Vec& xv, const Vec& gv, const Vec& bv) {
      Vec y(n), mean(ng), invstd(ng);
      group_norm_forward(xv.data(), gv.data(), bv.data(), y.data(), s.N, s.C, s.HW, s.G, eps,
                         mean.data(), invstd.data());
      return y;
    };
    Vec y(n), mean(ng), invstd(ng);
    group_norm_forward(x.data(), g.data(), b.data(), y.data(), s.N, s.C, s.HW, s.G, eps,
                       mean.data(), invstd.data());
    Grads got{Vec(n), Vec(size_t(s.C), 0.0), Vec(size_t(s.C), 0.0)};
    group_norm_backward(r.data(), x.data(), g.data(), mean.data(), invstd.data(), got.dx.data(),
                        got.dgamma.data(), got.dbeta.data(), s.N, s.C, s.HW, s.G);
    check_grads(got, finite_difference(x, g, b, r, forward));

    Vec dg2(size_t(s.C), 0.5);
    group_norm_backward<double>(r.data(), x.data(), g.data(), mean.data(), invstd.data(), nullptr,
                                dg2.data(), nullptr, s.N, s.C, s.HW, s.G);
    for (size_t c = 0; c < size_t(s.C); ++c)  // overwritten, not added to
      CHECK(dg2[c] == Approx(got.dgamma[c]).epsilon(1e-14));
  }
}

TEST_CASE("layer_norm_backward matches finite differences", "[norm]") {
  uint64_t stream = 500;
  for (const LnShape s : {LnShape{3, 5}, LnShape{1, 8}, LnShape{4, 1}, LnShape{37, 3}}) {
    INFO("rows=" << s.rows << " D=" << s.D);
    const size_t n = size_t(s.rows * s.D);
    const Vec x = randn(n, ++stream), g = randn(size_t(s.D), ++stream, 0.5, 1.0),
              b = randn(size_t(s.D), ++stream), r = randn(n, ++stream);
    const double eps = 1e-3;
    auto forward = [&](const Vec& xv, const Vec& gv, const Vec& bv) {
      Vec y(n), mean(size_t(s.rows)), invstd(size_t(s.rows));
      layer_norm_forward(xv.data(), gv.data(), bv.data(), y.data(), s.rows, s.D, eps, mean.data(),
                         invstd.data());
      return y;
    };
    Vec y(n), mean(size_t(s.rows)), invstd(size_t(s.rows));
    layer_norm_forward(x.data(), g.data(), b.data(), y.data(), s.rows, s.D, eps, mean.data(),
                       invstd.data());
    Grads got{Vec(n), Vec(size_t(s.D), 0.0), Vec(size_t(s.D), 0.0)};
    layer_norm_backward(r.data(), x.data(), g.data(), mean.data(), invstd.data(), got.dx.data(),
                        got.dgamma.data(), got.dbeta.data(), s.rows, s.D);
    check_grads(got, finite_difference(x, g, b, r, forward));

    Vec dx_only(n), db2(size_t(s.D), 2.0);
    layer_norm_backward<double>(r.data(), x.data(), g.data(), mean.data(), invstd.data(),
                                dx_only.data(), nullptr, nullptr, s.rows, s.D);
    layer_norm_backward<double>(r.data(), x.data(), g.data(), mean.data(), invstd.data(), nullptr,
                                nullptr, db2.data(), s.rows, s.D);
    CHECK(bitwise_equal(dx_only, got.dx));
    for (size_t d = 0; d < size_t(s.D); ++d)
      CHECK(db2[d] == Approx(got.dbeta[d]).epsilon(1e-14));  // overwritten, not added to
  }
}

// ---------------------------------------------------------------- identities

TEST_CASE("GroupNorm with G=1 equals LayerNorm over C*H*W", "[norm]") {
  const int64_t N = 3, C = 4, HW = 10, D = C * HW;
  const size_t n = size_t(N * D);
  const Vec x = randn(n, 600, 2.0, 1.0), g = randn(C, 601), b = randn(C, 602), r = randn(n, 603);
  Vec g_full(D), b_full(D);  // per-channel parameters spread over the (C, HW) row
  for (int64_t i = 0; i < D; ++i) {
    g_full[i] = g[i / HW];
    b_full[i] = b[i / HW];
  }
  Vec gy(n), gm(N), gi(N), ly(n), lm(N), li(N);
  group_norm_forward(x.data(), g.data(), b.data(), gy.data(), N, C, HW, 1, kEps, gm.data(),
                     gi.data());
  layer_norm_forward(x.data(), g_full.data(), b_full.data(), ly.data(), N, D, kEps, lm.data(),
                     li.data());
  CHECK(max_err(gy, ly) < 1e-12);
  CHECK(max_err(gm, lm) < 1e-12);
  CHECK(max_err(gi, li) < 1e-12);

  Vec gdx(n), gdg(C, 0.0), gdb(C, 0.0), ldx(n), ldg(D, 0.0), ldb(D, 0.0);
  group_norm_backward(r.data(), x.data(), g.data(), gm.data(), gi.data(), gdx.data(), gdg.data(),
                      gdb.data(), N, C, HW, 1);
  layer_norm_backward(r.data(), x.data(), g_full.data(), lm.data(), li.data(), ldx.data(),
                      ldg.data(), ldb.data(), N, D);
  CHECK(max_err(gdx, ldx) < 1e-12);
  Vec ldg_c(C, 0.0), ldb_c(C, 0.0);
  for (int64_t i = 0; i < D; ++i) {
    ldg_c[i / HW] += ldg[i];
    ldb_c[i / HW] += ldb[i];
  }
  CHECK(max_err(gdg, ldg_c) < 1e-12);
  CHECK(max_err(gdb, ldb_c) < 1e-12);
}

TEST_CASE("GroupNorm with G=C equals InstanceNorm (BatchNorm of each sample alone)", "[norm]") {
  const int64_t N = 3, C = 5, HW = 12;
  const size_t n = size_t(N * C * HW), per_sample = size_t(C * HW);
  const Vec x = randn(n, 700, 1.0, -2.0), g = randn(C, 701), b = randn(C, 702), r = randn(n, 703);
  Vec gy(n), gm(N * C), gi(N * C);
  group_norm_forward(x.data(), g.data(), b.data(), gy.data(), N, C, HW, C, kEps, gm.data(),
                     gi.data());
  Vec gdx(n), gdg(C, 0.0), gdb(C, 0.0);
  group_norm_backward(r.data(), x.data(), g.data(), gm.data(), gi.data(), gdx.data(), gdg.data(),
                      gdb.data(), N, C, HW, C);

  // BatchNorm on one sample normalises each channel over HW: instance normalisation. Its
  // parameter gradients (overwritten per call) are summed over the samples here, as GroupNorm
  // sums over n.
  Vec iy(n), im(N * C), ii(N * C), idx(n), idg(C, 0.0), idb(C, 0.0);
  for (int64_t s = 0; s < N; ++s) {
    const size_t o = size_t(s) * per_sample;
    batch_norm_forward_train<double>(x.data() + o, g.data(), b.data(), iy.data() + o, 1, C, HW,
                                     kEps, im.data() + s * C, ii.data() + s * C, nullptr, nullptr,
                                     0.1);
    Vec sdg(C), sdb(C);
    batch_norm_backward(r.data() + o, x.data() + o, g.data(), im.data() + s * C, ii.data() + s * C,
                        idx.data() + o, sdg.data(), sdb.data(), 1, C, HW);
    for (int64_t c = 0; c < C; ++c) {
      idg[size_t(c)] += sdg[size_t(c)];
      idb[size_t(c)] += sdb[size_t(c)];
    }
  }
  CHECK(max_err(gy, iy) < 1e-12);
  CHECK(max_err(gm, im) < 1e-12);
  CHECK(max_err(gi, ii) < 1e-12);
  CHECK(max_err(gdx, idx) < 1e-12);
  CHECK(max_err(gdg, idg) < 1e-12);
  CHECK(max_err(gdb, idb) < 1e-12);
}

// ---------------------------------------------------------------- float vs double, threads

namespace {

// Runs all six kernels on one set of inputs and returns every output, in a fixed order, as
// double (exact for float outputs; the saved statistics are double for every T).
template <class T>
std::vector<Vec> run_all(const Vec& xd, const Vec& dyd, int64_t N, int64_t C, int64_t HW,
                                    int64_t G) {
  const auto x = cast<T>(xd), dy = cast<T>(dyd);
  const auto g = cast<T>(randn(C, 801, 0.3, 1.0)), b = cast<T>(randn(C, 802));
  const size_t n = x.size();
  std::vector<Vec> out;
  auto fresh = [](size_t k, double v = 0.0) { return std::vector<T>(k, T(v)); };
  auto stats = [](size_t k) { return Vec(k, 0.0); };
  auto add = [&out](std::initializer_list<std::vector<T>> outputs) {
    for (const auto& o : outputs) out.push_back(cast<double>(o));
  };

  auto y = fresh(n), rm = fresh(C), rv = fresh(C, 1.0);
  auto m = stats(C), i = stats(C);
  batch_norm_forward_train(x.data(), g.data(), b.data(), y.data(), N, C, HW, kEps, m.data(),
                           i.data(), rm.data(), rv.data(), 0.1);
  auto dx = fresh(n), dg = fresh(C), db = fresh(C);
  batch_norm_backward(dy.data(), x.data(), g.data(), m.data(), i.data(), dx.data(), dg.data(),
                      db.data(), N, C, HW);
  auto ey = fresh(n);
  batch_norm_forward_eval(x.data(), g.data(), b.data(), rm.data(), rv.data(), ey.data(), N, C, HW,
                          kEps);
  add({y, rm, rv, dx, dg, db, ey});
  out.insert(out.end(), {m, i});

  auto gy = fresh(n);
  auto gm = stats(N * G), gi = stats(N * G);
  group_norm_forward(x.data(), g.data(), b.data(), gy.data(), N, C, HW, G, kEps, gm.data(),
                     gi.data());
  auto gdx = fresh(n), gdg = fresh(C), gdb = fresh(C);
  group_norm_backward(dy.data(), x.data(), g.data(), gm.data(), gi.data(), gdx.data(), gdg.data(),
                      gdb.data(), N, C, HW, G);
  add({gy, gdx, gdg, gdb});
  out.insert(out.end(), {gm, gi});

  // LayerNorm over the last dim of the same buffer viewed as (N * C, HW): gamma of length HW.
  const auto lg = cast<T>(randn(HW, 803, 0.3, 1.0)), lb = cast<T>(randn(HW, 804));
  auto ly = fresh(n);
  auto lm = stats(N * C), li = stats(N * C);
  layer_norm_forward(x.data(), lg.data(), lb.data(), ly.data(), N * C, HW, kEps, lm.data(),
                     li.data());
  auto ldx = fresh(n), ldg = fresh(HW), ldb = fresh(HW);
  layer_norm_backward(dy.data(), x.data(), lg.data(), lm.data(), li.data(), ldx.data(), ldg.data(),
                      ldb.data(), N * C, HW);
  add({ly, ldx, ldg, ldb});
  out.insert(out.end(), {lm, li});
  return out;
}

}  // namespace

TEST_CASE("float and double kernels agree", "[norm]") {
  const int64_t N = 3, C = 6, HW = 50, G = 3;
  const size_t n = size_t(N * C * HW);
  const Vec x = cast<double>(cast<float>(randn(n, 900, 1.5, 0.3)));
  const Vec dy = cast<double>(cast<float>(randn(n, 901)));
  const auto f = run_all<float>(x, dy, N, C, HW, G);
  const auto d = run_all<double>(x, dy, N, C, HW, G);
  REQUIRE(f.size() == d.size());
  for (size_t k = 0; k < f.size(); ++k) {
    INFO("output #" << k);
    CHECK(max_err(f[k], d[k]) < 1e-5);
  }
}

TEMPLATE_TEST_CASE("results are bitwise independent of the OpenMP thread count", "[norm]", float,
                   double) {
  // Large enough that every kernel takes its parallel path (>= 32768 elements).
  const int64_t N = 4, C = 8, HW = 33 * 33, G = 4;
  const size_t n = size_t(N * C * HW);
  const Vec x = randn(n, 1000, 2.0, 0.5), dy = randn(n, 1001);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = run_all<TestType>(x, dy, N, C, HW, G);
  omp_set_num_threads(2);
  const auto two = run_all<TestType>(x, dy, N, C, HW, G);
  omp_set_num_threads(saved);
  REQUIRE(one.size() == two.size());
  for (size_t k = 0; k < one.size(); ++k) {
    INFO("output #" << k);
    CHECK(bitwise_equal(one[k], two[k]));
  }
}

// ---------------------------------------------------------------- bad input

TEST_CASE("normalisation kernels reject bad sizes and null buffers", "[norm]") {
  Vec x(24, 1.0), y(24), m(24), i(24);
  CHECK_THROWS_AS(group_norm_forward<double>(x.data(), nullptr, nullptr, y.data(), 2, 6, 2, 4, kEps,
                                             m.data(), i.data()),
                  sdkd::Error);
  CHECK_THROWS_AS(batch_norm_forward_train<double>(x.data(), nullptr, nullptr, y.data(), 1, 3, 1,
                                                   kEps, m.data(), i.data(), nullptr, nullptr, 0.1),
                  sdkd::Error);
  CHECK_THROWS_AS(layer_norm_forward<double>(x.data(), nullptr, nullptr, y.data(), 4, 0, kEps,
                                             m.data(), i.data()),
                  sdkd::Error);
  CHECK_THROWS_AS(layer_norm_forward<double>(nullptr, nullptr, nullptr, y.data(), 4, 6, kEps,
                                             m.data(), i.data()),
                  sdkd::Error);
  CHECK_THROWS_AS(batch_norm_forward_train<double>(x.data(), nullptr, nullptr, y.data(), 2, 3, 4,
                                                   -1.0, m.data(), i.data(), nullptr, nullptr, 0.1),
                  sdkd::Error);
  CHECK_THROWS_WITH(group_norm_forward<double>(x.data(), nullptr, nullptr, y.data(), 2, 6, 2, 4,
                                               kEps, m.data(), i.data()),
                    Catch::Contains("group_norm_forward") && Catch::Contains("divide C"));
}

// ---------------------------------------------------------------- the op's entry points

TEST_CASE("norm_forward / norm_backward overwrite every output and dispatch to the kernel of the shape",
          "[norm]") {
  using sdkd::kern::NormKind;
  using sdkd::kern::NormShape;
  const double nan = std::nan("");
  struct Case {
    const char* name;
    NormShape shape;
  };
  const Case cases[] = {{"batch train", {NormKind::batch, 3, 4, 10, 1, kEps, true, 0.1}},
                        {"batch eval", {NormKind::batch, 3, 4, 10, 1, kEps, false, 0.1}},
                        {"group", {NormKind::group, 2, 6, 7, 3, kEps}},
                        {"layer", {NormKind::layer, 5, 1, 9, 1, kEps}},
                        {"group, empty batch", {NormKind::group, 0, 6, 7, 3, kEps}},
                        {"layer, no rows", {NormKind::layer, 0, 1, 9, 1, kEps}}};
  for (const Case& c : cases) {
    INFO(c.name);
    const NormShape& s = c.shape;
    const size_t n = size_t(s.N * s.C * s.HW), A = size_t(s.affine_size()), S = size_t(s.stats_size());
    const Vec x = randn(n, 900, 2.0, 0.5), dy = randn(n, 901), g = randn(A, 902), b = randn(A, 903);
    Vec rm = randn(size_t(s.C), 904), rv = randn(size_t(s.C), 905, 0.1, 1.0);
    // The entry point against the per-kind kernel it must call, on the same inputs.
    Vec y(n, nan), mean(S, nan), invstd(S, nan), y_ref(n), mean_ref(S), invstd_ref(S);
    Vec rm_ref = rm, rv_ref = rv;
    sdkd::kern::NormForwardArgs<double> fa;
    fa.x = x.data(), fa.gamma = g.data(), fa.beta = b.data(), fa.y = y.data(), fa.mean = mean.data();
    fa.invstd = invstd.data(), fa.running_mean = rm.data(), fa.running_var = rv.data();
    if (s.kind == NormKind::layer || s.kind == NormKind::group) fa.running_mean = fa.running_var = nullptr;
    norm_forward<double>(s, fa);
    if (s.kind == NormKind::batch && s.training) {
      batch_norm_forward_train<double>(x.data(), g.data(), b.data(), y_ref.data(), s.N, s.C, s.HW, s.eps,
                                       mean_ref.data(), invstd_ref.data(), rm_ref.data(), rv_ref.data(), s.momentum);
      CHECK(bitwise_equal(rm, rm_ref));
      CHECK(bitwise_equal(rv, rv_ref));
    } else if (s.kind == NormKind::batch) {
      batch_norm_forward_eval<double>(x.data(), g.data(), b.data(), rm.data(), rv.data(), y_ref.data(), s.N, s.C,
                                      s.HW, s.eps);
      for (size_t i = 0; i < S; ++i) invstd_ref[i] = 1.0 / std::sqrt(rv[i] + s.eps);
      mean = mean_ref = Vec(S);  // eval mode does not write the mean
    } else if (s.kind == NormKind::group) {
      group_norm_forward<double>(x.data(), g.data(), b.data(), y_ref.data(), s.N, s.C, s.HW, s.G, s.eps,
                                 mean_ref.data(), invstd_ref.data());
    } else {
      layer_norm_forward<double>(x.data(), g.data(), b.data(), y_ref.data(), s.N, s.HW, s.eps, mean_ref.data(),
                                 invstd_ref.data());
    }
    CHECK(bitwise_equal(y, y_ref));
    CHECK(bitwise_equal(mean, mean_ref));
    CHECK(bitwise_equal(invstd, invstd_ref));

    // Backward into NaN-filled and zero-filled outputs: identical, so no output is read.
    const Vec& save_mean = s.kind == NormKind::batch && !s.training ? rm : mean_ref;
    auto backward = [&](double fill) {
      std::vector<Vec> out{Vec(n, fill), Vec(A, fill), Vec(A, fill)};
      sdkd::kern::NormBackwardArgs<double> ba;
      ba.dy = dy.data(), ba.x = x.data(), ba.gamma = g.data(), ba.mean = save_mean.data();
      ba.invstd = invstd_ref.data(), ba.dx = out[0].data(), ba.dgamma = out[1].data(), ba.dbeta = out[2].data();
      norm_backward<double>(s, ba);
      return out;
    };
    const std::vector<Vec> from_nan = backward(nan), from_zero = backward(0.0), from_one = backward(1.0);
    for (size_t k = 0; k < 3; ++k) {
      CHECK(bitwise_equal(from_nan[k], from_zero[k]));
      CHECK(bitwise_equal(from_one[k], from_zero[k]));
    }
    if (n == 0)  // the parameter gradients of a norm over no values are empty sums
      for (size_t k = 1; k < 3; ++k) CHECK(std::all_of(from_nan[k].begin(), from_nan[k].end(), [](double v) { return v == 0.0; }));
  }
}
