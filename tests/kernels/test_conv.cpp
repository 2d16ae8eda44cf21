// The CPU conv kernels, run on the lowered problem (kernels/common/conv_problem.hpp) as the
// engine maps conv2d and conv_transpose2d onto it, against direct loops written from the
// definitions, central finite differences (double), the adjoint identity
// <conv(x), y> = <x, convT(y)>, and the overwrite contract (no kernel reads its output).
// Float results are compared element-wise with the bound gamma * (the same loops run on |x|,
// |w|), gamma = (taps + 2) * eps; the worst ratio error / bound is printed.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "common/numeric.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/conv_depthwise.hpp"
#include "kernels/cpu/conv_direct.hpp"
#include "kernels/cpu/conv_gemm.hpp"
#include "kernels/cpu/conv_padded.hpp"
#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

using namespace sdkd::cpu;
using sdkd::kern::Conv2dParams;
using sdkd::kern::ConvT2dParams;
using sdkd::kern::lower;
using Vec = std::vector<double>;

namespace {

// The two ops in their own terms, mapped onto the lowered kernels as engine/src/ops_conv.cpp
// does: conv2d's image side is its input, conv_transpose2d's its output. Weight gradients come
// with the bias gradient of the op's output channels (db may be null).
template <class T>
void conv_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  conv2d_forward(lower(p), x, w, b, y);
}
template <class T>
void conv_backward_data(const Conv2dParams& p, const T* dy, const T* w, T* dx) {
  conv2d_backward_data(lower(p), dy, w, static_cast<const T*>(nullptr), dx);
}
template <class T>
void conv_backward_weight(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db) {
  conv2d_backward_weight(lower(p), x, dy, dw);
  if (db != nullptr) conv_bias_backward(dy, p.N, p.C_out, p.H_out() * p.W_out(), db);
}
template <class T>
void convT_forward(const ConvT2dParams& q, const T* x, const T* w, const T* b, T* y) {
  conv2d_backward_data(lower(q), x, w, b, y);
}
template <class T>
void convT_backward_data(const ConvT2dParams& q, const T* dy, const T* w, T* dx) {
  conv2d_forward(lower(q), dy, w, static_cast<const T*>(nullptr), dx);
}
template <class T>
void convT_backward_weight(const ConvT2dParams& q, const T* x, const T* dy, T* dw, T* db) {
  conv2d_backward_weight(lower(q), dy, x, dw);
  if (db != nullptr) conv_bias_backward(dy, q.N, q.C_out, q.H_out() * q.W_out(), db);
}

Vec random_vec(size_t n, uint64_t stream) {
  Vec v(n);
  for (size_t i = 0; i < n; ++i) {
    const double hi = sdkd::Philox::uniform(23, stream, 2 * i);
    const double lo = sdkd::Philox::uniform(23, stream, 2 * i + 1);
    v[i] = 2 * (hi + lo * 0x1p-24) - 1;
  }
  return v;
}

Vec abs_of(Vec v) {
  for (double& x : v) x = std::abs(x);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

template <class T>
std::vector<T> cast(const Vec& v) {
  return std::vector<T>(v.begin(), v.end());
}

// ---- oracles written from the definitions ------------------------------------------------

size_t x_size(const Conv2dParams& p) { return size_t(p.N * p.C_in * p.H * p.W); }
size_t w_size(const Conv2dParams& p) { return size_t(p.C_out * (p.C_in / p.groups) * p.kH * p.kW); }
size_t y_size(const Conv2dParams& p) { return size_t(p.N * p.C_out * p.H_out() * p.W_out()); }

// Visits every (input element, weight element, output element) triple that conv2d multiplies:
// the seven loops n, co, oh, ow, ci (within the group), ki, kj.
template <class F>
void for_each_tap(const Conv2dParams& p, F&& f) {
  const int64_t Ho = p.H_out(), Wo = p.W_out(), cig = p.C_in / p.groups, cog = p.C_out / p.groups;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t co = 0; co < p.C_out; ++co)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t ki = 0; ki < p.kH; ++ki)
              for (int64_t kj = 0; kj < p.kW; ++kj) {
                const int64_t ih = oh * p.stride_h - p.pad_h + ki * p.dil_h;
                const int64_t iw = ow * p.stride_w - p.pad_w + kj * p.dil_w;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                const int64_t ci = (co / cog) * cig + c;
                f(((n * p.C_in + ci) * p.H + ih) * p.W + iw,
                  ((co * cig + c) * p.kH + ki) * p.kW + kj,
                  ((n * p.C_out + co) * Ho + oh) * Wo + ow);
              }
}

Vec naive_forward(const Conv2dParams& p, const Vec& x, const Vec& w, const Vec* b) {
  Vec y(y_size(p), 0.0);
  const int64_t plane = p.H_out() * p.W_out();
  if (b)
    for (size_t i = 0; i < y.size(); ++i) y[i] = (*b)[size_t(int64_t(i) / plane % p.C_out)];
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

Vec naive_backward_data(const Conv2dParams& p, const Vec& dy, const Vec& w) {
  Vec dx(x_size(p), 0.0);
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

Vec naive_backward_weight(const Conv2dParams& p, const Vec& x, const Vec& dy) {
  Vec dw(w_size(p), 0.0);
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += x[xi] * dy[yi]; });
  return dw;
}

Vec naive_bias_grad(int64_t N, int64_t C, int64_t plane, const Vec& dy) {
  Vec db(size_t(C), 0.0);
  for (int64_t i = 0; i < N * C * plane; ++i) db[size_t(i / plane % C)] += dy[size_t(i)];
  return db;
}

// conv_transpose2d by its own definition: every input pixel scatters the kernel, scaled,
// onto the output at stride spacing (PyTorch's documentation of ConvTranspose2d). Visits the
// (input, weight, output) index triples of that scatter.
template <class F>
void for_each_transpose_tap(const ConvT2dParams& p, F&& f) {
  const int64_t Ho = p.H_out(), Wo = p.W_out(), cig = p.C_in / p.groups, cog = p.C_out / p.groups;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t ci = 0; ci < p.C_in; ++ci)
      for (int64_t ih = 0; ih < p.H; ++ih)
        for (int64_t iw = 0; iw < p.W; ++iw)
          for (int64_t c = 0; c < cog; ++c)
            for (int64_t ki = 0; ki < p.kH; ++ki)
              for (int64_t kj = 0; kj < p.kW; ++kj) {
                const int64_t oh = ih * p.stride_h - p.pad_h + ki * p.dil_h;
                const int64_t ow = iw * p.stride_w - p.pad_w + kj * p.dil_w;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const int64_t co = (ci / cig) * cog + c;
                f(((n * p.C_in + ci) * p.H + ih) * p.W + iw,
                  ((ci * cog + c) * p.kH + ki) * p.kW + kj,
                  ((n * p.C_out + co) * Ho + oh) * Wo + ow);
              }
}

size_t x_size(const ConvT2dParams& p) { return size_t(p.N * p.C_in * p.H * p.W); }
size_t w_size(const ConvT2dParams& p) {
  return size_t(p.C_in * (p.C_out / p.groups) * p.kH * p.kW);
}
size_t y_size(const ConvT2dParams& p) { return size_t(p.N * p.C_out * p.H_out() * p.W_out()); }

Vec naive_transpose_forward(const ConvT2dParams& p, const Vec& x, const Vec& w, const Vec* b) {
  Vec y(y_size(p), 0.0);
  const int64_t plane = p.H_out() * p.W_out();
  if (b)
    for (size_t i = 0; i < y.size(); ++i) y[i] = (*b)[size_t(int64_t(i) / plane % p.C_out)];
  for_each_transpose_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

Vec naive_transpose_backward_data(const ConvT2dParams& p, const Vec& dy, const Vec& w) {
  Vec dx(x_size(p), 0.0);
  for_each_transpose_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

Vec naive_transpose_backward_weight(const ConvT2dParams& p, const Vec& x, const Vec& dy) {
  Vec dw(w_size(p), 0.0);
  for_each_transpose_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += x[xi] * dy[yi]; });
  return dw;
}

// ---- element-wise comparison with a rounding bound ----------------------------------------

template <class T>
double worst_ratio(const std::vector<T>& got, const Vec& ref, const Vec& abs_ref, int64_t taps) {
  REQUIRE(got.size() == ref.size());
  const double gamma = double(taps + 2) * std::numeric_limits<T>::epsilon();
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - ref[i]);
    if (!std::isfinite(err)) return std::numeric_limits<double>::infinity();  // a NaN never passes
    worst = std::max(worst, err / (gamma * abs_ref[i] + 1e-300));
  }
  return worst;
}

// The shapes every kernel is tested on: odd sizes, batch 1, stride 2, padding, dilation 2,
// groups 2, depthwise (with and without a channel multiplier), the 1x1 fast path and 1x1 with
// stride, non-square kernels and asymmetric hyper-parameters.
std::vector<Conv2dParams> test_shapes() {
  std::vector<Conv2dParams> s;
  auto add = [&](int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t kH, int64_t kW,
                 int sh, int sw, int ph, int pw, int dh, int dw, int g) {
    Conv2dParams p;
    p.N = N, p.C_in = Ci, p.H = H, p.W = W, p.C_out = Co, p.kH = kH, p.kW = kW;
    p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw, p.dil_h = dh, p.dil_w = dw;
    p.groups = g;
    s.push_back(p);
  };
  add(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1);      // smallest
  add(2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1);      // odd sizes, same padding
  add(1, 4, 11, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1);    // batch 1, stride 2
  add(3, 2, 9, 8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1);      // dilation 2
  add(2, 4, 8, 7, 6, 3, 3, 1, 2, 1, 0, 1, 1, 2);      // groups 2, asymmetric stride/pad
  add(2, 5, 9, 9, 5, 5, 5, 1, 1, 2, 2, 1, 1, 5);      // depthwise 5x5
  add(1, 3, 12, 11, 6, 3, 3, 1, 1, 3, 3, 3, 3, 3);    // dilated depthwise, multiplier 2
  add(2, 4, 9, 10, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4);     // depthwise stride 2
  add(1, 2, 21, 37, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2);    // depthwise, wider than one register tile
  add(1, 3, 19, 35, 3, 5, 5, 2, 2, 2, 2, 1, 1, 3);    // depthwise, wide, stride 2
  add(2, 1, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1);      // one input channel (direct path)
  add(4, 6, 5, 7, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1);      // 1x1 fast path
  add(2, 6, 5, 6, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2);      // 1x1 fast path with groups
  add(2, 3, 9, 8, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1);      // 1x1 stride 2 (not the fast path)
  add(3, 2, 6, 10, 3, 3, 1, 1, 2, 0, 1, 1, 2, 1);     // 3x1 kernel
  add(2, 3, 16, 16, 8, 4, 4, 2, 2, 1, 1, 1, 1, 1);    // k4 s2 (the U-Net's down/up pair)
  add(1, 2, 4, 4, 2, 5, 5, 1, 1, 2, 2, 1, 1, 1);      // kernel larger than the image
  add(5, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1);  // enough work for several GEMM panels
  add(1, 64, 8, 64, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);    // im2col in several row bands
  add(2, 96, 12, 96, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1);   // row bands with stride 2
  return s;
}

std::string describe(const Conv2dParams& p) {
  return sdkd::str_cat("N=", p.N, " Cin=", p.C_in, " H=", p.H, " W=", p.W, " Cout=", p.C_out,
                       " k=", p.kH, "x", p.kW, " s=", p.stride_h, "x", p.stride_w, " p=", p.pad_h,
                       "x", p.pad_w, " d=", p.dil_h, "x", p.dil_w, " g=", p.groups);
}

// conv_transpose2d whose output has x's shape for conv p: same weight tensor, channels
// swapped, output_padding chosen to recover H and W.
ConvT2dParams transpose_of(const Conv2dParams& p) {
  ConvT2dParams t;
  t.N = p.N, t.C_in = p.C_out, t.H = p.H_out(), t.W = p.W_out(), t.C_out = p.C_in;
  t.kH = p.kH, t.kW = p.kW, t.stride_h = p.stride_h, t.stride_w = p.stride_w;
  t.pad_h = p.pad_h, t.pad_w = p.pad_w, t.dil_h = p.dil_h, t.dil_w = p.dil_w, t.groups = p.groups;
  t.output_padding_h = int(p.H - t.H_out());
  t.output_padding_w = int(p.W - t.W_out());
  return t;
}

template <class T>
void check_against_oracles(const char* type) {
  double worst_fwd = 0, worst_bd = 0, worst_bw = 0, worst_bias = 0;
  uint64_t stream = 1;
  for (const Conv2dParams& p : test_shapes()) {
    INFO(describe(p));
    const Vec x = random_vec(x_size(p), stream++), w = random_vec(w_size(p), stream++);
    const Vec b = random_vec(size_t(p.C_out), stream++), dy = random_vec(y_size(p), stream++);
    const int64_t taps = (p.C_in / p.groups) * p.kH * p.kW;
    const int64_t plane = p.H_out() * p.W_out();
    const int64_t uses_per_weight = p.N * plane;
    const int64_t uses_per_input = (p.C_out / p.groups) * p.kH * p.kW;

    const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dyt = cast<T>(dy);
    std::vector<T> y(y_size(p), T(7));  // forward overwrites
    conv_forward(p, xt.data(), wt.data(), bt.data(), y.data());
    const Vec ab = abs_of(b);
    const double rf = worst_ratio(y, naive_forward(p, x, w, &b),
                                  naive_forward(p, abs_of(x), abs_of(w), &ab), taps + 1);
    CHECK(rf <= 1.0);

    std::vector<T> dx(x_size(p), T(7));  // backward-data overwrites
    conv_backward_data(p, dyt.data(), wt.data(), dx.data());
    const double rd = worst_ratio(dx, naive_backward_data(p, dy, w),
                                  naive_backward_data(p, abs_of(dy), abs_of(w)), uses_per_input);
    CHECK(rd <= 1.0);

    // Backward-weight overwrites too: start from values it must not add to.
    std::vector<T> dw = cast<T>(random_vec(w_size(p), stream++)), db = cast<T>(random_vec(size_t(p.C_out), stream++));
    conv_backward_weight(p, xt.data(), dyt.data(), dw.data(), db.data());
    const Vec dw_ref = naive_backward_weight(p, x, dy), dw_abs = naive_backward_weight(p, abs_of(x), abs_of(dy));
    const Vec db_ref = naive_bias_grad(p.N, p.C_out, plane, dy),
              db_abs = naive_bias_grad(p.N, p.C_out, plane, abs_of(dy));
    const double rw = worst_ratio(dw, dw_ref, dw_abs, uses_per_weight);
    const double rb = worst_ratio(db, db_ref, db_abs, uses_per_weight);
    CHECK(rw <= 1.0);
    CHECK(rb <= 1.0);
    worst_fwd = std::max(worst_fwd, rf), worst_bd = std::max(worst_bd, rd);
    worst_bw = std::max(worst_bw, rw), worst_bias = std::max(worst_bias, rb);
  }
  std::printf(
      "conv2d<%s> worst error / bound: forward %.3g, backward_data %.3g, "
      "backward_weight %.3g, bias %.3g\n",
      type, worst_fwd, worst_bd, worst_bw, worst_bias);
}

}  // namespace

TEST_CASE("conv2d forward and both backwards match the direct loops", "[conv]") {
  check_against_oracles<float>("float");
  check_against_oracles<double>("double");
}

// Compares grad with central differences of loss() in every coordinate of param; returns the
// worst |fd - grad| / (1e-6 * (1 + |grad|)).
template <class Loss>
double finite_difference_check(Vec& param, const Vec& grad, Loss&& loss) {
  const double h = 1e-5;
  double worst = 0;
  for (size_t i = 0; i < param.size(); ++i) {
    const double fd = sdkd::test::central_difference(param[i], h, loss);
    const double err = std::abs(fd - grad[i]) / (1e-6 * (1 + std::abs(grad[i])));
    CHECK(err <= 1.0);
    worst = std::max(worst, err);
  }
  return worst;
}

// L = 0.5 * |y|^2 + <r, y>, so dL/dy = y + r; the quadratic term makes the check sensitive to
// a wrong bias or to a gradient that is off by a transposition.
double quadratic_loss(const Vec& y, const Vec& r) { return 0.5 * dot(y, y) + dot(r, y); }

TEST_CASE("conv2d gradients match central finite differences (double)", "[conv]") {
  std::vector<Conv2dParams> shapes(3);
  shapes[0].N = 2, shapes[0].C_in = 2, shapes[0].H = 5, shapes[0].W = 4, shapes[0].C_out = 3;
  shapes[0].kH = shapes[0].kW = 3, shapes[0].stride_h = shapes[0].stride_w = 2;
  shapes[0].pad_h = shapes[0].pad_w = 1;
  shapes[1] = shapes[0], shapes[1].stride_h = shapes[1].stride_w = 1, shapes[1].dil_h = 2;
  shapes[1].pad_w = 2, shapes[1].H = 6;
  shapes[2] = shapes[0], shapes[2].C_in = 4, shapes[2].C_out = 4, shapes[2].groups = 2;
  shapes[2].stride_w = 1;
  double worst = 0;
  uint64_t stream = 500;
  for (const Conv2dParams& p : shapes) {
    INFO(describe(p));
    Vec x = random_vec(x_size(p), stream++), w = random_vec(w_size(p), stream++);
    Vec b = random_vec(size_t(p.C_out), stream++);
    const Vec r = random_vec(y_size(p), stream++);
    Vec y(y_size(p));
    auto loss = [&]() {
      conv_forward(p, x.data(), w.data(), b.data(), y.data());
      return quadratic_loss(y, r);
    };
    loss();
    Vec dy(y.size());
    for (size_t i = 0; i < y.size(); ++i) dy[i] = y[i] + r[i];
    Vec dx(x.size()), dw(w.size(), 0.0), db(b.size(), 0.0);
    conv_backward_data(p, dy.data(), w.data(), dx.data());
    conv_backward_weight(p, x.data(), dy.data(), dw.data(), db.data());
    worst = std::max({worst, finite_difference_check(x, dx, loss),
                      finite_difference_check(w, dw, loss), finite_difference_check(b, db, loss)});
  }
  std::printf("conv2d finite differences: worst |fd - grad| / (1e-6 (1 + |grad|)) = %.3g\n", worst);
  CHECK(worst <= 1.0);
}

TEST_CASE("conv_transpose2d gradients match central finite differences (double)", "[conv]") {
  ConvT2dParams q;
  q.N = 2, q.C_in = 4, q.H = 3, q.W = 4, q.C_out = 2, q.kH = 4, q.kW = 3, q.groups = 2;
  q.stride_h = 2, q.stride_w = 2, q.pad_h = 1, q.pad_w = 1, q.output_padding_w = 1;
  uint64_t stream = 700;
  Vec x = random_vec(x_size(q), stream++), w = random_vec(w_size(q), stream++);
  Vec b = random_vec(size_t(q.C_out), stream++);
  const Vec r = random_vec(y_size(q), stream++);
  Vec y(y_size(q));
  auto loss = [&]() {
    convT_forward(q, x.data(), w.data(), b.data(), y.data());
    return quadratic_loss(y, r);
  };
  loss();
  Vec dy(y.size());
  for (size_t i = 0; i < y.size(); ++i) dy[i] = y[i] + r[i];
  Vec dx(x.size()), dw(w.size(), 0.0), db(b.size(), 0.0);
  convT_backward_data(q, dy.data(), w.data(), dx.data());
  convT_backward_weight(q, x.data(), dy.data(), dw.data(), db.data());
  const double worst =
      std::max({finite_difference_check(x, dx, loss), finite_difference_check(w, dw, loss),
                finite_difference_check(b, db, loss)});
  std::printf("conv_transpose2d finite differences: worst ratio = %.3g\n", worst);
  CHECK(worst <= 1.0);
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>", "[conv]") {
  double worst = 0;
  uint64_t stream = 900;
  for (const Conv2dParams& p : test_shapes()) {
    INFO(describe(p));
    const ConvT2dParams t = transpose_of(p);
    REQUIRE(t.H_out() == p.H);
    REQUIRE(t.W_out() == p.W);
    const Vec x = random_vec(x_size(p), stream++), w = random_vec(w_size(p), stream++);
    const Vec y = random_vec(y_size(p), stream++);
    Vec cx(y_size(p)), ty(x_size(p), 3.0);
    conv_forward(p, x.data(), w.data(), static_cast<const double*>(nullptr), cx.data());
    convT_forward(t, y.data(), w.data(), static_cast<const double*>(nullptr), ty.data());
    const double lhs = dot(cx, y), rhs = dot(x, ty);
    const double scale = dot(abs_of(cx), abs_of(y)) + dot(abs_of(x), abs_of(ty));
    const double rel = std::abs(lhs - rhs) / (1e-13 * scale);
    CHECK(rel <= 1.0);
    worst = std::max(worst, rel);
  }
  std::printf("conv adjoint identity: worst |lhs - rhs| / (1e-13 * scale) = %.3g\n", worst);
}

TEST_CASE("conv_transpose2d matches its scatter definition, forward and backward", "[conv]") {
  std::vector<ConvT2dParams> shapes;
  for (const Conv2dParams& p : test_shapes()) shapes.push_back(transpose_of(p));
  ConvT2dParams t;  // output_padding >= stride, allowed because dilation is larger
  t.N = 2, t.C_in = 4, t.H = 5, t.W = 6, t.C_out = 2, t.kH = 3, t.kW = 2;
  t.stride_h = 2, t.stride_w = 1, t.pad_h = 1, t.pad_w = 0, t.dil_h = 3, t.dil_w = 3;
  t.output_padding_h = 2, t.output_padding_w = 2, t.groups = 2;
  shapes.push_back(t);

  double worst_fwd = 0, worst_bd = 0, worst_bw = 0;
  uint64_t stream = 1300;
  for (const ConvT2dParams& q : shapes) {
    INFO("convT N=" << q.N << " Cin=" << q.C_in << " H=" << q.H << " W=" << q.W
                    << " Cout=" << q.C_out << " k=" << q.kH << "x" << q.kW << " s=" << q.stride_h
                    << "x" << q.stride_w << " op=" << q.output_padding_h << "x"
                    << q.output_padding_w << " g=" << q.groups);
    const Vec x = random_vec(x_size(q), stream++), w = random_vec(w_size(q), stream++);
    const Vec b = random_vec(size_t(q.C_out), stream++), dy = random_vec(y_size(q), stream++);
    const Vec ax = abs_of(x), aw = abs_of(w), ab = abs_of(b), ady = abs_of(dy);
    const int64_t plane = q.H_out() * q.W_out();
    const int64_t taps = (q.C_in / q.groups) * q.kH * q.kW + 1;

    std::vector<float> y(y_size(q), 9.f);
    convT_forward(q, cast<float>(x).data(), cast<float>(w).data(), cast<float>(b).data(), y.data());
    const double rf = worst_ratio(y, naive_transpose_forward(q, x, w, &b),
                                  naive_transpose_forward(q, ax, aw, &ab), taps);
    CHECK(rf <= 1.0);

    std::vector<float> dx(x_size(q), 5.f);
    convT_backward_data(q, cast<float>(dy).data(), cast<float>(w).data(), dx.data());
    const double rd =
        worst_ratio(dx, naive_transpose_backward_data(q, dy, w),
                    naive_transpose_backward_data(q, ady, aw), (q.C_out / q.groups) * q.kH * q.kW);
    CHECK(rd <= 1.0);

    std::vector<float> dw(w_size(q), 0.f), db(size_t(q.C_out), 0.f);
    convT_backward_weight(q, cast<float>(x).data(), cast<float>(dy).data(), dw.data(), db.data());
    const double rw = worst_ratio(dw, naive_transpose_backward_weight(q, x, dy),
                                  naive_transpose_backward_weight(q, ax, ady), q.N * q.H * q.W);
    const double rb = worst_ratio(db, naive_bias_grad(q.N, q.C_out, plane, dy),
                                  naive_bias_grad(q.N, q.C_out, plane, ady), q.N * plane);
    CHECK(rw <= 1.0);
    CHECK(rb <= 1.0);
    worst_fwd = std::max(worst_fwd, rf), worst_bd = std::max(worst_bd, rd);
    worst_bw = std::max(worst_bw, std::max(rw, rb));
  }
  std::printf(
      "conv_transpose2d<float> worst error / bound: forward %.3g, backward_data %.3g, "
      "backward_weight+bias %.3g\n",
      worst_fwd, worst_bd, worst_bw);
}

TEST_CASE("conv_transpose2d output size follows the PyTorch formula", "[conv]") {
  // (H-1)*stride - 2*pad + dil*(k-1) + output_padding + 1, worked out by hand.
  struct Case {
    int64_t H, k;
    int s, pad, op, dil;
    int64_t expect;
  };
  const Case cases[] = {
      {16, 4, 2, 1, 0, 1, 32},                          // the U-Net upsampling: doubles the size
      {5, 3, 2, 1, 1, 1, 10},                           // k3 s2 p1 needs output_padding 1 to double
      {5, 3, 2, 1, 0, 1, 9},   {7, 3, 1, 0, 0, 2, 11},  // dilation: 6 + 4 + 1
      {1, 1, 1, 0, 0, 1, 1},   {4, 5, 3, 2, 2, 1, 12},  // 9 - 4 + 4 + 2 + 1
  };
  for (const Case& c : cases) {
    ConvT2dParams t;
    t.H = c.H, t.W = c.H + 1, t.kH = t.kW = c.k, t.stride_h = t.stride_w = c.s;
    t.pad_h = t.pad_w = c.pad, t.output_padding_h = t.output_padding_w = c.op;
    t.dil_h = t.dil_w = c.dil;
    CHECK_NOTHROW(t.validate());
    CHECK(t.H_out() == c.expect);
    CHECK(t.W_out() == c.expect + c.s);
  }
}

TEST_CASE("conv2d backward_weight does not depend on scheduling", "[conv]") {
  Conv2dParams p;
  // Big enough (~1M multiply-adds) for the batch loop to go parallel.
  p.N = 7, p.C_in = 8, p.H = 16, p.W = 15, p.C_out = 8, p.kH = p.kW = 3, p.pad_h = p.pad_w = 1;
  const auto x = cast<float>(random_vec(x_size(p), 40)),
             dy = cast<float>(random_vec(y_size(p), 41));
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {2, 2, 2, 1}) {
    omp_set_num_threads(threads);
    std::vector<float> dw(w_size(p), 0.f), db(size_t(p.C_out), 0.f);
    conv_backward_weight(p, x.data(), dy.data(), dw.data(), db.data());
    dw.insert(dw.end(), db.begin(), db.end());
    results.push_back(dw);
  }
  omp_set_num_threads(saved);
  CHECK(results[0] == results[1]);  // same thread count: bitwise equal
  CHECK(results[0] == results[2]);
  for (size_t i = 0; i < results[0].size(); ++i)  // other thread count: same up to rounding
    CHECK(results[3][i] == Approx(results[0][i]).epsilon(1e-5).margin(1e-5));
}

// Runs `kernel` into an output of n elements pre-filled with NaN and into a zeroed one (a fresh
// buffer, what the engine handed out when weight gradients accumulated): equal results (NaN
// compares unequal) mean the kernel never reads its output.
template <class T, class Kernel>
bool overwrites(size_t n, Kernel&& kernel) {
  std::vector<T> fresh(n, T(0)), dirty(n, std::numeric_limits<T>::quiet_NaN());
  kernel(fresh.data());
  kernel(dirty.data());
  return fresh == dirty;
}

template <class T>
void check_overwrites(const sdkd::kern::ConvProblem& L, uint64_t& stream) {
  const auto img = cast<T>(random_vec(size_t(L.img_numel()), stream++));
  const auto col = cast<T>(random_vec(size_t(L.col_numel()), stream++));
  const auto w = cast<T>(random_vec(size_t(L.weight_numel()), stream++));
  const auto img_bias = cast<T>(random_vec(size_t(L.img_channels), stream++));
  const auto col_bias = cast<T>(random_vec(size_t(L.col_channels), stream++));
  const T* none = nullptr;
  const size_t n_img = img.size(), n_col = col.size(), n_w = w.size(), n_b = col_bias.size();
  CHECK(overwrites<T>(n_col, [&](T* y) { conv2d_forward(L, img.data(), w.data(), col_bias.data(), y); }));
  CHECK(overwrites<T>(n_col, [&](T* y) { conv2d_forward(L, img.data(), w.data(), none, y); }));
  CHECK(overwrites<T>(n_img, [&](T* dx) { conv2d_backward_data(L, col.data(), w.data(), none, dx); }));
  CHECK(overwrites<T>(n_img, [&](T* y) { conv2d_backward_data(L, col.data(), w.data(), img_bias.data(), y); }));
  CHECK(overwrites<T>(n_w, [&](T* dw) { conv2d_backward_weight(L, img.data(), col.data(), dw); }));
  CHECK(overwrites<T>(n_b, [&](T* db) { conv_bias_backward(col.data(), L.N, L.col_channels, L.col_plane(), db); }));
}

TEST_CASE("every conv kernel overwrites its output (NaN-filled outputs give a fresh run's result)", "[conv]") {
  std::vector<sdkd::kern::ConvProblem> problems;
  for (const Conv2dParams& p : test_shapes()) problems.push_back(lower(p));
  ConvT2dParams t;  // output_padding rows that no placement reaches must be written too
  t.N = 2, t.C_in = 4, t.H = 5, t.W = 6, t.C_out = 2, t.kH = 3, t.kW = 2;
  t.stride_h = 2, t.stride_w = 1, t.pad_h = 1, t.pad_w = 0, t.dil_h = 3, t.dil_w = 3;
  t.output_padding_h = 2, t.output_padding_w = 2, t.groups = 2;
  problems.push_back(lower(t));
  Conv2dParams empty;  // an empty batch: the gradients are zeros, written all the same
  empty.N = 0, empty.C_in = 4, empty.H = empty.W = 6, empty.C_out = 3, empty.kH = empty.kW = 3;
  problems.push_back(lower(empty));
  empty.C_out = 4, empty.groups = 4;  // the depthwise loops
  problems.push_back(lower(empty));

  const int saved = omp_get_max_threads();
  uint64_t stream = 2000;
  for (int threads : {1, 2}) {  // 2: the weight gradient's per-thread partials
    omp_set_num_threads(threads);
    for (const auto& L : problems) {
      INFO("threads=" << threads << " N=" << L.N << " img=" << L.img_channels << "x" << L.H << "x" << L.W
                      << " col=" << L.col_channels << "x" << L.Ho << "x" << L.Wo << " k=" << L.kH << "x" << L.kW
                      << " g=" << L.groups);
      check_overwrites<float>(L, stream);
      check_overwrites<double>(L, stream);
    }
  }
  omp_set_num_threads(saved);
}

TEST_CASE("conv parameters are validated with clear messages", "[conv]") {
  std::vector<float> buf(4096, 0.f);
  Conv2dParams p;
  p.N = 1, p.C_in = 3, p.H = 8, p.W = 8, p.C_out = 4, p.kH = p.kW = 3, p.groups = 2;
  REQUIRE_THROWS_WITH(conv_forward(p, buf.data(), buf.data(), buf.data(), buf.data()),
                      Catch::Contains("C_in=3 is not divisible by groups=2"));
  p.C_in = 4, p.groups = 1, p.kH = 11;
  REQUIRE_THROWS_WITH(conv_backward_data(p, buf.data(), buf.data(), buf.data()),
                      Catch::Contains("output size would be < 1"));
  p.kH = 3, p.stride_w = 0;
  REQUIRE_THROWS_WITH(conv_backward_weight(p, buf.data(), buf.data(), buf.data(), buf.data()),
                      Catch::Contains("stride must be >= 1"));
  p.stride_w = 1, p.dil_h = 0;
  REQUIRE_THROWS_WITH(p.validate(), Catch::Contains("dilation must be >= 1"));
  p.dil_h = 1;
  REQUIRE_THROWS_WITH(conv_forward(p, buf.data(), static_cast<const float*>(nullptr), buf.data(), buf.data()),
                      Catch::Contains("conv2d_forward: a required input or output pointer is null"));

  ConvT2dParams t;
  t.C_in = 4, t.C_out = 6, t.H = t.W = 5, t.kH = t.kW = 3, t.stride_h = t.stride_w = 2;
  t.output_padding_h = 2;
  REQUIRE_THROWS_WITH(convT_forward(t, buf.data(), buf.data(), buf.data(), buf.data()),
                      Catch::Contains("must be smaller than stride"));
  t.output_padding_h = 0, t.groups = 4;
  REQUIRE_THROWS_WITH(t.validate(), Catch::Contains("C_out=6 is not divisible by groups=4"));
  t.groups = 1, t.H = 1, t.pad_h = 3;
  REQUIRE_THROWS_WITH(t.validate(), Catch::Contains("output size would be"));
}

// ---- every CPU kernel on its own (issue 13: direct, depthwise, GEMM paths) ----------------
// conv2d_* above run whichever kernel conv_kernel() picks; these call each kernel directly on
// the shapes it may be given, so a path the rule does not pick for a small test shape is still
// checked against the same direct-loop oracles, in float and double, with and without bias,
// into NaN-filled outputs (a kernel that read its output would give NaN).

namespace {

enum class Path { direct, gemm, depthwise };

const char* path_name(Path k) {
  return k == Path::direct ? "direct" : k == Path::gemm ? "im2col+GEMM" : "depthwise";
}

template <class T>
void path_forward(Path k, const sdkd::kern::ConvProblem& L, const T* img, const T* w, const T* b, T* col) {
  if (k == Path::direct) return direct_forward(L, img, w, b, col);
  if (k == Path::gemm) return gemm_forward(L, img, w, b, col);
  depthwise_forward(L, img, w, b, col);
}

// The data gradient with an image-side bias (what conv_transpose2d's forward adds): the direct
// kernel folds it in, the others are followed by the bias pass conv2d_backward_data adds.
template <class T>
void path_backward_data(Path k, const sdkd::kern::ConvProblem& L, const T* col, const T* w, const T* b, T* img) {
  if (k == Path::direct) return direct_backward_data(L, col, w, b, img);
  if (k == Path::gemm)
    gemm_backward_data(L, col, w, img);
  else
    depthwise_backward_data(L, col, w, img);
  if (b == nullptr) return;
  for (int64_t n = 0; n < L.N; ++n)
    for (int64_t c = 0; c < L.img_channels; ++c)
      for (int64_t i = 0; i < L.img_plane(); ++i) img[(n * L.img_channels + c) * L.img_plane() + i] += b[c];
}

template <class T>
void path_backward_weight(Path k, const sdkd::kern::ConvProblem& L, const T* img, const T* col, T* dw) {
  if (k == Path::direct) return direct_backward_weight(L, img, col, dw);
  if (k == Path::gemm) return gemm_backward_weight(L, img, col, dw);
  depthwise_backward_weight(L, img, col, dw);
}

template <class T>
std::vector<T> nan_filled(size_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

// Depthwise shapes for the tiled kernels of conv_depthwise.cpp: every (kH, dil_h) it has, the
// three row-tile heights (4, 8, 16 rows: planes of 4..7, 8..15 and >= 16 rows) and planes too
// short for any (direct fallback), widths that leave a partial vector for float (16 lanes) and
// double (8 lanes), kW != kH, dil_w != dil_h, asymmetric and zero padding, SimVP's two shapes,
// plus stride 2 and a channel multiplier (the direct fallback).
std::vector<Conv2dParams> depthwise_shapes() {
  std::vector<Conv2dParams> s;
  auto add = [&](int64_t N, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int sh, int ph, int pw, int dh,
                 int dw, int64_t mult) {
    Conv2dParams p;
    p.N = N, p.C_in = C, p.H = H, p.W = W, p.C_out = C * mult, p.kH = kH, p.kW = kW;
    p.stride_h = p.stride_w = sh, p.pad_h = ph, p.pad_w = pw, p.dil_h = dh, p.dil_w = dw, p.groups = int(C);
    s.push_back(p);
  };
  add(2, 3, 16, 16, 5, 5, 1, 2, 2, 1, 1, 1);    // SimVP dw5, 16 rows
  add(2, 3, 16, 16, 7, 7, 1, 9, 9, 3, 3, 1);    // SimVP dw7 dilation 3
  add(1, 2, 19, 21, 3, 3, 1, 1, 1, 1, 1, 1);    // 19 rows: a 16-row tile moved up; partial vector
  add(2, 2, 9, 37, 3, 5, 1, 2, 1, 2, 1, 1);     // (3, 2), 8-row tiles, kW != kH
  add(1, 3, 6, 10, 5, 3, 1, 2, 0, 1, 2, 1);     // (5, 1), 4-row tiles, dil_w 2, no width padding
  add(1, 2, 12, 9, 5, 5, 1, 4, 3, 2, 1, 1);     // (5, 2), asymmetric padding
  add(2, 2, 11, 17, 7, 7, 1, 3, 3, 1, 1, 1);    // (7, 1)
  add(1, 2, 22, 13, 7, 3, 1, 9, 1, 3, 1, 1);    // (7, 3) with a 3-wide kernel row
  add(2, 2, 20, 18, 5, 5, 1, 0, 0, 1, 1, 1);    // no padding: every tap row of the last rows counts
  add(1, 2, 28, 17, 7, 7, 1, 1, 4, 3, 2, 1);    // (7, 3) with less padding than "same"
  add(1, 3, 14, 9, 3, 3, 1, 0, 1, 2, 1, 1);     // (3, 2), 10 output rows from 14
  add(1, 2, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1);      // 3 rows: no tile fits, direct fallback
  add(2, 2, 7, 7, 4, 4, 1, 1, 2, 1, 1, 1);      // kH 4: no tiled kernel
  add(2, 3, 13, 11, 5, 5, 2, 2, 2, 1, 1, 1);    // stride 2: direct fallback
  add(1, 2, 10, 12, 3, 3, 1, 1, 1, 1, 1, 3);    // channel multiplier 3
  // Rows of exactly one vector with 'same' padding (conv_depthwise_lanes.hpp: lane shifts, no
  // padded copy) for 16 float lanes (AVX-512) and 8 double ones; the 16 x 16 SimVP planes above
  // are such too.
  add(2, 3, 12, 16, 3, 3, 1, 1, 1, 1, 1, 2);    // multiplier 2, an 8-row tile moved up
  add(1, 2, 5, 16, 7, 7, 1, 3, 3, 1, 1, 1);     // (7, 1), 4-row tiles
  add(1, 2, 8, 8, 5, 5, 1, 2, 2, 1, 1, 1);      // double: one vector per row
  add(2, 2, 19, 8, 7, 7, 1, 9, 9, 3, 3, 1);     // double: (7, 3), a 16-row tile moved up
  return s;
}

// Shapes for the direct kernel beyond test_shapes(): one input channel (the SimVP encoder's
// first conv) with several channel blocks, stride 2 in one axis only, a 4x4 stride-2 pair
// (the decoder's upsampling is its backward-data), channel counts that leave every register
// tile width, and a plane of one row.
std::vector<Conv2dParams> direct_shapes() {
  std::vector<Conv2dParams> s;
  auto add = [&](int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t kH, int64_t kW, int sh, int sw,
                 int ph, int pw, int dh, int dw, int g) {
    Conv2dParams p;
    p.N = N, p.C_in = Ci, p.H = H, p.W = W, p.C_out = Co, p.kH = kH, p.kW = kW;
    p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw, p.dil_h = dh, p.dil_w = dw;
    p.groups = g;
    s.push_back(p);
  };
  add(3, 1, 19, 18, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);   // 1 -> 16: two 8-channel tiles
  add(2, 1, 9, 33, 15, 3, 3, 1, 1, 1, 1, 1, 1, 1);    // 15 = 8 + 4 + 2 + 1 channel tiles
  add(2, 3, 10, 21, 7, 3, 3, 1, 2, 1, 1, 1, 1, 1);    // stride in the width only
  add(2, 4, 9, 12, 5, 3, 3, 2, 1, 0, 1, 1, 1, 1);     // stride in the height only
  add(2, 5, 12, 14, 6, 4, 4, 2, 2, 1, 1, 1, 1, 1);    // k4 s2 p1 (ConvTranspose's pair)
  add(1, 6, 11, 9, 9, 3, 3, 3, 3, 2, 1, 1, 1, 3);     // stride 3, groups 3
  add(2, 4, 1, 23, 3, 1, 3, 1, 1, 0, 1, 1, 1, 1);     // one-row planes
  add(1, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 2, 1, 1);      // no padding, dilation in one axis
  // One output channel per pass (the direct kernel's row tiles): a forward to 1 channel (its
  // row sweep runs down the plane) and a 5x5 data gradient into 1 channel (its sweep runs up);
  // heights that leave a partial tile of 8 rows, widths that leave a partial vector.
  add(2, 3, 13, 20, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  add(2, 1, 12, 17, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1);
  add(1, 1, 8, 40, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);     // exactly one tile of rows
  // Forward planes in several bands of rows (conv_direct.cpp, forward_band_rows: a band's
  // padded source rows fit in 24 KiB), the last band shorter, in float and double: stride 1 with
  // 16 source channels, stride 2 with odd and even widths; one image (the threads split a
  // task's bands) and two.
  add(1, 16, 41, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  add(2, 4, 37, 61, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1);
  add(2, 4, 38, 64, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1);
  add(1, 16, 27, 16, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  return s;
}

// Runs the three passes of kernel k on conv p against the oracles; returns the worst ratio.
template <class T>
double check_path(Path k, const Conv2dParams& p, uint64_t& stream) {
  const sdkd::kern::ConvProblem L = lower(p);
  const Vec x = random_vec(x_size(p), stream++), w = random_vec(w_size(p), stream++);
  const Vec b = random_vec(size_t(p.C_out), stream++), bx = random_vec(size_t(p.C_in), stream++);
  const Vec dy = random_vec(y_size(p), stream++);
  const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), bxt = cast<T>(bx), dyt = cast<T>(dy);
  const int64_t taps = (p.C_in / p.groups) * p.kH * p.kW;
  const int64_t plane = p.H_out() * p.W_out(), in_plane = p.H * p.W;
  double worst = 0;
  for (bool bias : {false, true}) {
    INFO(path_name(k) << " bias=" << bias);
    std::vector<T> y = nan_filled<T>(y_size(p));
    path_forward<T>(k, L, xt.data(), wt.data(), bias ? bt.data() : nullptr, y.data());
    const Vec ab = abs_of(b);
    const double rf = worst_ratio(y, naive_forward(p, x, w, bias ? &b : nullptr),
                                  naive_forward(p, abs_of(x), abs_of(w), bias ? &ab : nullptr), taps + 1);
    CHECK(rf <= 1.0);

    std::vector<T> dx = nan_filled<T>(x_size(p));
    path_backward_data<T>(k, L, dyt.data(), wt.data(), bias ? bxt.data() : nullptr, dx.data());
    Vec dx_ref = naive_backward_data(p, dy, w), dx_abs = naive_backward_data(p, abs_of(dy), abs_of(w));
    if (bias)
      for (size_t i = 0; i < dx_ref.size(); ++i) {
        const double bi = bx[size_t(int64_t(i) / in_plane % p.C_in)];
        dx_ref[i] += bi, dx_abs[i] += std::abs(bi);
      }
    const double rd = worst_ratio(dx, dx_ref, dx_abs, (p.C_out / p.groups) * p.kH * p.kW + 1);
    CHECK(rd <= 1.0);
    worst = std::max({worst, rf, rd});
  }
  std::vector<T> dw = nan_filled<T>(w_size(p));
  path_backward_weight<T>(k, L, xt.data(), dyt.data(), dw.data());
  const double rw = worst_ratio(dw, naive_backward_weight(p, x, dy), naive_backward_weight(p, abs_of(x), abs_of(dy)),
                                p.N * plane);
  CHECK(rw <= 1.0);
  return std::max(worst, rw);
}

template <class T>
void check_every_path(const char* type) {
  std::vector<Conv2dParams> all = test_shapes();
  for (const Conv2dParams& p : direct_shapes()) all.push_back(p);
  for (const Conv2dParams& p : depthwise_shapes()) all.push_back(p);
  double worst[3] = {0, 0, 0};
  uint64_t stream = 5000;
  for (const Conv2dParams& p : all) {
    INFO(describe(p));
    for (Path k : {Path::direct, Path::gemm, Path::depthwise}) {
      if (k == Path::depthwise && p.C_in != p.groups) continue;  // needs one image channel per group
      worst[int(k)] = std::max(worst[int(k)], check_path<T>(k, p, stream));
    }
  }
  std::printf("conv kernels<%s> worst error / bound: direct %.3g, im2col+GEMM %.3g, depthwise %.3g\n", type,
              worst[0], worst[1], worst[2]);
}

}  // namespace

TEST_CASE("each CPU conv kernel (direct, im2col+GEMM, depthwise) matches the direct loops", "[conv]") {
  check_every_path<float>("float");
  check_every_path<double>("double");
}

// conv_transpose2d's lowered problems (output_padding rows no placement reaches) through the
// direct kernel: its forward is the lowered backward-data, split into stride residue classes.
TEST_CASE("an infinite source pixel reaches exactly the weight gradients whose taps meet it", "[conv]") {
  // A pixel in the last image column, within a partial vector: the vector lanes past the last
  // output column see it at taps whose true sums never do. Zero gradient lanes times inf would
  // turn those sums into NaN.
  for (const auto& [C, W, k, pad, dil] : {std::tuple{3, 19, 5, 2, 1}, std::tuple{2, 21, 7, 9, 3}}) {
    Conv2dParams p;
    p.N = 1, p.C_in = p.C_out = C, p.groups = C, p.H = 16, p.W = W, p.kH = p.kW = k;
    p.pad_h = p.pad_w = pad, p.dil_h = p.dil_w = dil;
    INFO(describe(p));
    const sdkd::kern::ConvProblem L = lower(p);
    uint64_t stream = 777;
    Vec x = random_vec(x_size(p), stream++);
    const Vec dy = random_vec(y_size(p), stream++);
    for (int64_t c = 0; c < C; ++c) x[size_t((c * p.H + 5) * p.W + p.W - 1)] = INFINITY;
    const Vec ref = naive_backward_weight(p, x, dy);
    for (Path path : {Path::depthwise, Path::direct}) {
      INFO(path_name(path));
      std::vector<float> dw = nan_filled<float>(w_size(p));
      path_backward_weight<float>(path, L, cast<float>(x).data(), cast<float>(dy).data(), dw.data());
      int finite = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        INFO("weight " << i);
        CHECK(std::isfinite(dw[i]) == std::isfinite(ref[i]));
        finite += std::isfinite(ref[i]);
      }
      CHECK(finite > 0);
      CHECK(finite < int(ref.size()));
    }
  }
}

TEST_CASE("the direct kernel computes conv_transpose2d by stride residue classes", "[conv]") {
  std::vector<ConvT2dParams> shapes;
  for (const Conv2dParams& p : direct_shapes()) shapes.push_back(transpose_of(p));
  ConvT2dParams t;  // output_padding >= stride, allowed because dilation is larger
  t.N = 2, t.C_in = 4, t.H = 5, t.W = 6, t.C_out = 2, t.kH = 3, t.kW = 2;
  t.stride_h = 2, t.stride_w = 1, t.pad_h = 1, t.pad_w = 0, t.dil_h = 3, t.dil_w = 3;
  t.output_padding_h = 2, t.output_padding_w = 2, t.groups = 2;
  shapes.push_back(t);
  ConvT2dParams up;  // the SimVP decoder's k4 s2 p1 upsampling, 16 x 16 -> 32 x 32
  up.N = 2, up.C_in = 16, up.H = up.W = 16, up.C_out = 16, up.kH = up.kW = 4;
  up.stride_h = up.stride_w = 2, up.pad_h = up.pad_w = 1;
  shapes.push_back(up);
  ConvT2dParams s3 = up;  // stride 3: a residue class that no tap of a 2-wide kernel reaches
  s3.C_in = 3, s3.C_out = 5, s3.H = 4, s3.W = 5, s3.kH = 2, s3.kW = 2, s3.stride_h = s3.stride_w = 3;
  s3.pad_h = s3.pad_w = 0, s3.output_padding_h = s3.output_padding_w = 2;
  shapes.push_back(s3);

  double worst = 0;
  uint64_t stream = 7000;
  for (const ConvT2dParams& q : shapes) {
    INFO("convT N=" << q.N << " Cin=" << q.C_in << " H=" << q.H << " W=" << q.W << " Cout=" << q.C_out << " k=" << q.kH
                    << "x" << q.kW << " s=" << q.stride_h << "x" << q.stride_w << " op=" << q.output_padding_h << "x"
                    << q.output_padding_w << " g=" << q.groups);
    const sdkd::kern::ConvProblem L = lower(q);
    const Vec x = random_vec(x_size(q), stream++), w = random_vec(w_size(q), stream++);
    const Vec b = random_vec(size_t(q.C_out), stream++), dy = random_vec(y_size(q), stream++);
    const Vec ab = abs_of(b);
    const int64_t taps = (q.C_in / q.groups) * q.kH * q.kW + 1;
    std::vector<float> y = nan_filled<float>(y_size(q));
    direct_backward_data(L, cast<float>(x).data(), cast<float>(w).data(), cast<float>(b).data(), y.data());
    const double rf = worst_ratio(y, naive_transpose_forward(q, x, w, &b),
                                  naive_transpose_forward(q, abs_of(x), abs_of(w), &ab), taps);
    CHECK(rf <= 1.0);
    std::vector<double> yd = nan_filled<double>(y_size(q));
    direct_backward_data(L, x.data(), w.data(), b.data(), yd.data());
    const double rfd = worst_ratio(yd, naive_transpose_forward(q, x, w, &b),
                                   naive_transpose_forward(q, abs_of(x), abs_of(w), &ab), taps);
    CHECK(rfd <= 1.0);
    std::vector<float> dx = nan_filled<float>(x_size(q));
    direct_forward(L, cast<float>(dy).data(), cast<float>(w).data(), static_cast<const float*>(nullptr), dx.data());
    const double rd = worst_ratio(dx, naive_transpose_backward_data(q, dy, w),
                                  naive_transpose_backward_data(q, abs_of(dy), abs_of(w)),
                                  (q.C_out / q.groups) * q.kH * q.kW);
    CHECK(rd <= 1.0);
    std::vector<float> dw = nan_filled<float>(w_size(q));
    direct_backward_weight(L, cast<float>(dy).data(), cast<float>(x).data(), dw.data());
    const double rw = worst_ratio(dw, naive_transpose_backward_weight(q, x, dy),
                                  naive_transpose_backward_weight(q, abs_of(x), abs_of(dy)), q.N * q.H * q.W);
    CHECK(rw <= 1.0);
    worst = std::max({worst, rf, rfd, rd, rw});
  }
  std::printf("conv_transpose2d by the direct kernel: worst error / bound %.3g\n", worst);
}

// The direct and depthwise kernels compute every output (and every chunk of the weight
// gradient's batch) on one thread in an order fixed by the problem: the bits must not change
// with the thread count. Shapes big enough for the kernels to go parallel (>= 2^17
// multiply-adds), including a batch of one (the threads then split a single image's tiles).
TEST_CASE("direct and depthwise conv kernels give identical bits on 1, 2 and 3 threads", "[conv]") {
  std::vector<Conv2dParams> shapes;
  auto add = [&](int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t k, int s, int pad, int d, int g) {
    Conv2dParams p;
    p.N = N, p.C_in = Ci, p.H = H, p.W = W, p.C_out = Co, p.kH = p.kW = k;
    p.stride_h = p.stride_w = s, p.pad_h = p.pad_w = pad, p.dil_h = p.dil_w = d, p.groups = g;
    shapes.push_back(p);
  };
  add(7, 8, 16, 15, 8, 3, 1, 1, 1, 1);      // the batch split over threads
  add(1, 16, 32, 32, 16, 3, 1, 1, 1, 1);    // one image: its channel tiles split over threads
  add(5, 1, 33, 30, 16, 3, 1, 1, 1, 1);     // one input channel (SimVP's first encoder conv)
  add(4, 5, 21, 18, 1, 5, 1, 2, 1, 1);      // one output channel (row tiles, with prefetch)
  add(3, 6, 20, 22, 10, 4, 2, 1, 1, 2);     // stride 2: residue classes in backward-data
  add(4, 16, 16, 16, 16, 5, 1, 2, 1, 16);   // depthwise 5x5 (tiled)
  add(4, 16, 16, 16, 16, 7, 1, 9, 3, 16);   // depthwise 7x7 dilation 3 (tiled)
  add(3, 12, 17, 19, 12, 3, 2, 1, 1, 12);   // depthwise stride 2 (direct fallback)
  add(3, 32, 16, 16, 32, 3, 1, 1, 1, 1);    // weight gradient: one chunk, its channels split per thread
  const int saved = omp_get_max_threads();
  uint64_t stream = 9000;
  for (const Conv2dParams& p : shapes) {
    INFO(describe(p));
    const sdkd::kern::ConvProblem L = lower(p);
    const auto x = cast<float>(random_vec(x_size(p), stream++)), w = cast<float>(random_vec(w_size(p), stream++));
    const auto b = cast<float>(random_vec(size_t(p.C_out), stream++)), bx = cast<float>(random_vec(size_t(p.C_in), stream++));
    const auto dy = cast<float>(random_vec(y_size(p), stream++));
    const Path k = p.groups == p.C_in && p.C_out == p.C_in ? Path::depthwise : Path::direct;
    std::vector<std::vector<float>> runs;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> y = nan_filled<float>(y_size(p)), dx = nan_filled<float>(x_size(p)),
                         dw = nan_filled<float>(w_size(p));
      path_forward<float>(k, L, x.data(), w.data(), b.data(), y.data());
      path_backward_data<float>(k, L, dy.data(), w.data(), k == Path::direct ? bx.data() : nullptr, dx.data());
      path_backward_weight<float>(k, L, x.data(), dy.data(), dw.data());
      y.insert(y.end(), dx.begin(), dx.end());
      y.insert(y.end(), dw.begin(), dw.end());
      runs.push_back(std::move(y));
    }
    CHECK(runs[0] == runs[1]);
    CHECK(runs[0] == runs[2]);
  }
  omp_set_num_threads(saved);
}

// The rule of docs/KERNELS.md ("CPU convolution: which kernel runs") on the models' shapes.
TEST_CASE("conv_kernel picks the kernel docs/KERNELS.md names for each model shape", "[conv]") {
  auto conv = [](int64_t Ci, int64_t HW, int64_t Co, int64_t k, int s, int pad, int d, int g) {
    Conv2dParams p;
    p.N = 10, p.C_in = Ci, p.H = p.W = HW, p.C_out = Co, p.kH = p.kW = k;
    p.stride_h = p.stride_w = s, p.pad_h = p.pad_w = pad, p.dil_h = p.dil_w = d, p.groups = g;
    return lower(p);
  };
  using K = ConvKernel;
  using P = ConvPass;
  const auto enc0 = conv(1, 64, 16, 3, 1, 1, 1, 1);  // SimVP encoder's first conv, 1 -> 16
  CHECK(conv_kernel(enc0, P::forward) == K::direct);
  CHECK(conv_kernel(enc0, P::backward_weight) == K::direct);
  const auto enc1 = conv(16, 64, 16, 3, 2, 1, 1, 1);  // 16 -> 16, stride 2
  for (P pass : {P::forward, P::backward_data, P::backward_weight}) CHECK(conv_kernel(enc1, pass) == K::direct);
  ConvT2dParams up;  // the decoder's ConvTranspose k4 s2 p1
  up.N = 10, up.C_in = up.C_out = 16, up.H = up.W = 16, up.kH = up.kW = 4, up.stride_h = up.stride_w = 2;
  up.pad_h = up.pad_w = 1;
  for (P pass : {P::forward, P::backward_data, P::backward_weight}) CHECK(conv_kernel(lower(up), pass) == K::direct);
  const auto dw5 = conv(128, 16, 128, 5, 1, 2, 1, 128), dw7 = conv(128, 16, 128, 7, 1, 9, 3, 128);
  for (P pass : {P::forward, P::backward_data, P::backward_weight}) {
    CHECK(conv_kernel(dw5, pass) == K::depthwise);
    CHECK(conv_kernel(dw7, pass) == K::depthwise);
  }
  const auto fc1 = conv(128, 16, 512, 1, 1, 0, 1, 1);  // the translator's 1x1 convs
  for (P pass : {P::forward, P::backward_data, P::backward_weight}) CHECK(conv_kernel(fc1, pass) == K::pointwise_gemm);
  const auto wide = conv(256, 16, 256, 3, 1, 1, 1, 1);  // AlterNet's 3x3 at 256 channels
  CHECK(conv_kernel(wide, P::forward) == K::direct);
  CHECK(conv_kernel(wide, P::backward_data) == K::direct);
  CHECK(conv_kernel(wide, P::backward_weight) == K::im2col_gemm);
  const auto deep = conv(512, 16, 512, 3, 1, 1, 1, 1);  // deeper than the direct loops were measured
  CHECK(conv_kernel(deep, P::forward) == K::im2col_gemm);
  CHECK(conv_kernel(conv(8, 9, 4, 1, 2, 0, 1, 1), P::forward) == K::direct);  // 1x1 with stride
  CHECK(std::string(conv_kernel_name(K::im2col_gemm)) == "im2col + GEMM");
}

TEST_CASE("padded_source refilled for the same layout equals a fresh fill_padded of the new source", "[conv]") {
  // Offsets inside, at and beyond the plane's edges; lanes longer than the source rows.
  std::vector<PaddedLayout> layouts;
  for (int64_t off : {-3, 0, 2})
    for (int64_t extra : {0, 5}) {
      PaddedLayout L;
      L.src_H = 5, L.src_W = 7, L.off_h = off, L.off_w = -off - 1;
      L.rows = 5 + extra + 2, L.lane_len = 7 + extra + 3;
      layouts.push_back(L);
    }
  PaddedLayout two_phase = layouts[0];
  two_phase.phases = 2;
  layouts.push_back(two_phase);
  std::vector<float> src(3 * 5 * 7);
  uint64_t seed = 1;
  // Each layout twice in a row (the second call takes the refill path), then the next one.
  for (int round = 0; round < 2; ++round)
    for (const PaddedLayout& L : layouts)
      for (int64_t channels : {1, 3})
        for (int repeat = 0; repeat < 2; ++repeat) {
          for (float& v : src) v = float(int64_t(++seed * 2654435761u % 1000) - 500);  // all nonzero but a few
          std::vector<float> want(size_t(channels * L.channel_pitch()), std::nanf(""));
          fill_padded(L, src.data(), channels, want.data());
          const float* got = padded_source(L, src.data(), channels);
          CHECK(std::equal(want.begin(), want.end(), got));
        }
  // The bands of one plan: layouts that differ only in off_h, one after the other (rows that
  // were inside the plane for one band lie outside it for the next), for both phase counts and
  // column offsets of either parity and sign (stride 2 splits columns by parity).
  for (int64_t phases : {1, 2})
    for (int64_t off_w : {2, 0, -1, -2, -3})
      for (int64_t src_W : {7, 8}) {
        PaddedLayout L;
        L.src_H = 9, L.src_W = src_W, L.off_w = off_w, L.rows = 4, L.phases = phases, L.lane_len = 8;
        for (int64_t off_h : {-2, 1, 4, 7, 3, -5}) {
          L.off_h = off_h;
          INFO("phases " << phases << " off_w " << off_w << " src_W " << src_W << " off_h " << off_h);
          std::vector<float> band_src(size_t(2 * L.src_H * src_W));
          for (float& v : band_src) v = float(int64_t(++seed * 2654435761u % 1000) - 500);
          // The layout's definition (conv_padded.hpp), element by element.
          std::vector<float> want;
          for (int64_t ch = 0; ch < 2; ++ch)
            for (int64_t r = 0; r < L.rows; ++r)
              for (int64_t p = 0; p < phases; ++p)
                for (int64_t j = 0; j < L.lane_len; ++j) {
                  const int64_t i = r + off_h, c = j * phases + p + off_w;
                  want.push_back(i >= 0 && i < L.src_H && c >= 0 && c < src_W ? band_src[size_t((ch * L.src_H + i) * src_W + c)]
                                                                             : 0.0f);
                }
          const float* got = padded_source(L, band_src.data(), 2);
          CHECK(std::equal(want.begin(), want.end(), got));
        }
      }
}
