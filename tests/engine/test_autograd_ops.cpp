// Finite-difference checks for every differentiable op of the engine (float64).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "gradcheck.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

using namespace sdkd;
using sdkd::test::gradcheck;
using sdkd::test::randn64;

TEST_CASE("broadcast binary ops have correct gradients", "[autograd]") {
  const Tensor a = randn64({2, 3, 4}, 1), b = randn64({3, 1}, 2);
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a.clone(), b.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, {a.clone(), b.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a.clone(), b.clone()}).passed());
  const Tensor c = add_scalar(abs(randn64({3, 1}, 3)), 0.5);
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return div(x[0], x[1]); }, {a.clone(), c.clone()}).passed());
}

TEST_CASE("pointwise ops have correct gradients", "[autograd]") {
  const Tensor a = randn64({3, 5}, 7);
  const Tensor pos = add_scalar(abs(a), 0.3);
  using F = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<const char*, F>> fs = {
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"square", [](const Tensor& x) { return square(x); }},
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"add_scalar", [](const Tensor& x) { return add_scalar(x, 0.7); }},
      {"mul_scalar", [](const Tensor& x) { return mul_scalar(x, -1.3); }},
  };
  for (auto& [name, f] : fs) {
    INFO(name);
    CHECK(gradcheck([&](const std::vector<Tensor>& x) { return f(x[0]); }, {a.clone()}).passed());
  }
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return log(x[0]); }, {pos.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return sqrt(x[0]); }, {pos.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return pow_scalar(x[0], 1.7); }, {pos.clone()}).passed());
}

TEST_CASE("pointwise ops match their closed forms", "[ops]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{-2.0, -0.5, 0.0, 0.5, 2.0}, {5});
  const auto gl = gelu(x).to_double_vector();
  const auto lr = leaky_relu(x, 0.1).to_double_vector();
  const auto si = silu(x).to_double_vector();
  const double xs[5] = {-2.0, -0.5, 0.0, 0.5, 2.0};
  for (int i = 0; i < 5; ++i) {
    CHECK(gl[size_t(i)] == Approx(0.5 * xs[i] * (1 + std::erf(xs[i] / std::sqrt(2.0)))).margin(1e-14));
    CHECK(lr[size_t(i)] == Approx(xs[i] > 0 ? xs[i] : 0.1 * xs[i]).margin(1e-14));
    CHECK(si[size_t(i)] == Approx(xs[i] / (1 + std::exp(-xs[i]))).margin(1e-14));
  }
}

TEST_CASE("reductions have correct values and gradients", "[autograd]") {
  const Tensor a = randn64({2, 3, 4}, 11);
  const auto v = a.to_double_vector();
  // sum over dim 1 by hand
  const Tensor s = sum(a, {1});
  REQUIRE(s.shape() == Shape{2, 4});
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double acc = 0;
      for (int j = 0; j < 3; ++j) acc += v[size_t(i * 12 + j * 4 + k)];
      CHECK(s.to_double_vector()[size_t(i * 4 + k)] == Approx(acc).margin(1e-12));
    }
  CHECK(mean(a, {0, 2}, true).shape() == Shape{1, 3, 1});
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return sum(x[0], {1}); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return mean(x[0], {0, 2}, true); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return mean(x[0]); }, {a.clone()}).passed());
}

TEST_CASE("views and joins have correct gradients", "[autograd]") {
  const Tensor a = randn64({2, 3, 4}, 21), b = randn64({2, 2, 4}, 22);
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].permute({2, 0, 1}).reshape({4, 6}); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].slice(2, 1, 4, 2); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].transpose(0, 2).contiguous(); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return cat({x[0], x[1]}, 1); }, {a.clone(), b.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return stack({x[0], x[0]}, 0); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].select(1, -1); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].unsqueeze(1).flatten(2, 3).squeeze(1); }, {a.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return expand(x[0].slice(0, 0, 1), {3, 2, 3, 4}); }, {a.clone()}).passed());
  // A float32 detour and back: the gradient passes through both conversions.
  // The map is the identity up to rounding, so a large step keeps float32 rounding out of the quotient.
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return x[0].to(DType::f32).clone().to(DType::f64); }, {a.clone()}, 1e-4, 1e-2).passed());
}

TEST_CASE("views share storage and index like row-major arrays", "[ops]") {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[size_t(i)] = i;
  const Tensor a = Tensor::from_vector(v, {2, 3, 4});
  const Tensor p = a.permute({2, 0, 1});  // p[k][i][j] = a[i][j][k]
  const auto pv = p.to_double_vector();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(pv[size_t(k * 6 + i * 3 + j)] == v[size_t(i * 12 + j * 4 + k)]);
  CHECK(!p.is_contiguous());
  const Tensor r = a.reshape({6, 4});
  CHECK(r.shares_storage(a));  // a view, not a copy
  const Tensor s = a.slice(1, 1, 3).reshape({-1});  // not viewable: must copy correctly
  const auto sv = s.to_double_vector();
  REQUIRE(sv.size() == 16);
  CHECK(sv[0] == 4);
  CHECK(sv[8] == 16);
  const Tensor c = cat({a, a}, 2);
  CHECK(c.shape() == Shape{2, 3, 8});
  CHECK(c.to_double_vector()[4] == 0);
  CHECK_THROWS_WITH(a.reshape({5, 5}), Catch::Contains("24 elements"));
  CHECK_THROWS_WITH(add(a, Tensor::zeros({2, 4}, DType::f64)), Catch::Contains("cannot be broadcast"));
}

TEST_CASE("matmul and linear match naive products and have correct gradients", "[autograd]") {
  const Tensor a = randn64({2, 3, 5}, 31), b = randn64({2, 5, 4}, 32), w = randn64({5, 4}, 33);
  const auto C = matmul(a, b).to_double_vector();
  const auto av = a.to_double_vector(), bv = b.to_double_vector();
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        double acc = 0;
        for (int k = 0; k < 5; ++k) acc += av[size_t(n * 15 + i * 5 + k)] * bv[size_t(n * 20 + k * 4 + j)];
        CHECK(C[size_t(n * 12 + i * 4 + j)] == Approx(acc).margin(1e-12));
      }
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a.clone(), b.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a.clone(), w.clone()}).passed());
  const Tensor W = randn64({6, 5}, 34), bias = randn64({6}, 35);
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); }, {a.clone(), W.clone(), bias.clone()}).passed());
}

TEST_CASE("losses equal their definitions and have correct gradients", "[autograd]") {
  const Tensor p = randn64({3, 4}, 41), t = randn64({3, 4}, 42);
  const auto pv = p.to_double_vector(), tv = t.to_double_vector();
  double se = 0, ae = 0;
  for (size_t i = 0; i < pv.size(); ++i) {
    se += (pv[i] - tv[i]) * (pv[i] - tv[i]);
    ae += std::fabs(pv[i] - tv[i]);
  }
  CHECK(mse_loss(p, t).item() == Approx(se / 12).epsilon(1e-14));
  CHECK(l1_loss(p, t).item() == Approx(ae / 12).epsilon(1e-14));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1]); }, {p.clone(), t.clone()}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return l1_loss(x[0], x[1]); }, {p.clone(), t.clone()}).passed());
  CHECK_THROWS_WITH(mse_loss(p, randn64({4, 3}, 1)), Catch::Contains("same shape"));
}

TEST_CASE("gradients accumulate across backward calls and no_grad records nothing", "[autograd]") {
  Tensor x = randn64({4}, 51);
  x.set_requires_grad(true);
  sum(mul(x, x)).backward();
  sum(mul(x, x)).backward();
  const auto g = x.grad().to_double_vector(), xv = x.to_double_vector();
  for (size_t i = 0; i < 4; ++i) CHECK(g[i] == Approx(4 * xv[i]));  // 2 * 2x
  {
    NoGradGuard ng;
    Tensor y = mul(x, x);
    CHECK(!y.requires_grad());
  }
  // A tensor used twice in one graph gets the sum of both paths.
  x.zero_grad();
  Tensor y = add(mul(x, x), x);
  sum(y).backward();
  const auto g2 = x.grad().to_double_vector();
  for (size_t i = 0; i < 4; ++i) CHECK(g2[i] == Approx(2 * xv[i] + 1));
}

TEST_CASE("a leaf takes a fresh gradient without a copy, and never one that another tensor reaches", "[autograd]") {
  set_host_cache_limit(int64_t(1) << 30);
  const Shape big{500, 1000};  // 4 MB of float64: every allocation shows in the host cache's counters
  Tensor x = randn64(big, 52);
  const Tensor w = randn64(big, 53), g = Tensor::ones(big, DType::f64);
  x.set_requires_grad(true);
  const auto allocations = [] { return host_cache_stats().reuses + host_cache_stats().system_allocs; };
  // mul's backward makes one new tensor for x (g * w); the leaf keeps that one.
  const Tensor y = mul(x, w);
  const int64_t before = allocations();
  y.backward(g);
  CHECK(allocations() == before + 1);
  CHECK(x.grad().to_double_vector() == w.to_double_vector());
  // add's backward hands the same g to both inputs, and backward(g) on a leaf seeds with the
  // caller's tensor: each leaf gets its own copy, so writing one in place leaves the rest alone.
  Tensor a = randn64(big, 54), b = randn64(big, 55), leaf = randn64(big, 56);
  a.set_requires_grad(true), b.set_requires_grad(true), leaf.set_requires_grad(true);
  add(a, b).backward(g);
  a.grad().fill_(7.0);
  CHECK(b.grad().to_double_vector() == std::vector<double>(size_t(g.numel()), 1.0));
  CHECK(a.grad().to_double_vector() == std::vector<double>(size_t(g.numel()), 7.0));
  leaf.backward(g);
  leaf.grad().fill_(2.0);
  CHECK(g.to_double_vector() == std::vector<double>(size_t(g.numel()), 1.0));
}

TEST_CASE("float32 and float64 agree and the counter RNG is thread-count free", "[ops]") {
  Generator g1(7), g2(7);
  const Tensor a = Tensor::randn({1000}, g1), b = Tensor::randn({1000}, g2, DType::f64);
  const auto av = a.to_double_vector(), bv = b.to_double_vector();
  for (size_t i = 0; i < av.size(); ++i) CHECK(av[i] == Approx(bv[i]).epsilon(1e-6));
  double m = 0, s = 0;
  for (double v : bv) m += v / 1000;
  for (double v : bv) s += (v - m) * (v - m) / 999;
  CHECK(std::fabs(m) < 0.1);
  CHECK(std::sqrt(s) == Approx(1.0).epsilon(0.08));
  // Two draws from one generator do not overlap; the same offset gives the same numbers.
  Generator g3(7);
  const Tensor c = Tensor::randn({500}, g3), d = Tensor::randn({500}, g3);
  CHECK(c.to_double_vector()[0] == Approx(av[0]));
  CHECK(d.to_double_vector()[0] == Approx(av[500]));
}

TEST_CASE("conv2d and conv_transpose2d ops have correct gradients", "[autograd][conv]") {
  const Tensor x = randn64({2, 4, 5, 6}, 61), w = randn64({6, 2, 3, 3}, 62), b = randn64({6}, 63);
  const auto o = Conv2dOptions::make(2, 1, 1, 2);
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], o); }, {x.clone(), w.clone(), b.clone()}).passed());
  const Tensor wt = randn64({4, 3, 4, 4}, 64), bt = randn64({3}, 65);
  const auto ot = Conv2dOptions::make(2, 1, 1, 1, 1);
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2], ot); },
            {x.clone(), wt.clone(), bt.clone()}).passed());
  CHECK(conv_transpose2d(x, wt, bt, ot).shape() == Shape{2, 3, 11, 13});
  // <conv(x), y> == <x, convT(y)> with the same weight (no bias): the adjoint identity.
  const Tensor w2 = randn64({3, 4, 3, 3}, 66);
  const auto o2 = Conv2dOptions::make(2, 1);
  const Tensor cx = conv2d(x, w2, Tensor(), o2);
  const Tensor y = randn64(cx.shape(), 67);
  auto o2t = o2;
  o2t.out_pad_h = 0;  // H: (3-1)*2 - 2 + 3 = 5 = x's H
  o2t.out_pad_w = 1;  // W: (3-1)*2 - 2 + 3 + 1 = 6 = x's W
  const Tensor ty = conv_transpose2d(y, w2, Tensor(), o2t);
  REQUIRE(ty.shape() == x.shape());
  CHECK(sum(mul(cx, y)).item() == Approx(sum(mul(x, ty)).item()).epsilon(1e-12));
  CHECK_THROWS_WITH(conv2d(x, randn64({6, 3, 3, 3}, 1), Tensor(), Conv2dOptions::make(1, 1)),
                    Catch::Contains("expects 3"));
}

TEST_CASE("norm ops have correct gradients and running statistics", "[autograd][norm]") {
  const Tensor x = randn64({3, 4, 2, 3}, 71), g = randn64({4}, 72), b = randn64({4}, 73);
  Tensor rm = Tensor::zeros({4}, DType::f64), rv = Tensor::ones({4}, DType::f64);
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { Tensor m = rm.clone(), s = rv.clone(); return batch_norm2d(v[0], v[1], v[2], m, s, true); },
            {x.clone(), g.clone(), b.clone()}).passed());
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { return batch_norm2d(v[0], v[1], v[2], rm, rv, false); },
            {x.clone(), g.clone(), b.clone()}).passed());
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { return group_norm(v[0], 2, v[1], v[2]); }, {x.clone(), g.clone(), b.clone()}).passed());
  const Tensor g3 = randn64({3}, 74), b3 = randn64({3}, 75);
  CHECK(gradcheck([&](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], v[2]); }, {x.clone(), g3.clone(), b3.clone()}).passed());
  // Training mode moves the running mean toward the batch mean by the momentum.
  Tensor m = Tensor::zeros({4}, DType::f64), s = Tensor::ones({4}, DType::f64);
  batch_norm2d(x, g, b, m, s, true, 0.1);
  const Tensor batch_mean = mean(x, {0, 2, 3});
  const auto mv = m.to_double_vector(), bm = batch_mean.to_double_vector();
  for (int c = 0; c < 4; ++c) CHECK(mv[size_t(c)] == Approx(0.1 * bm[size_t(c)]).margin(1e-12));
}

TEST_CASE("linear is bitwise matmul(x, W^T) + bias on the CPU, forward and every gradient", "[linear]") {
  // linear records one node on every device; on the CPU it runs the same GEMM calls as the
  // composite form, so results (and hence training runs) match it to the last bit.
  const Shape x_shapes[] = {{7}, {5, 7}, {3, 4, 7}, {1, 1, 7}};
  uint64_t seed = 90;
  for (const Shape& xs : x_shapes) {
    for (bool with_bias : {true, false}) {
      INFO("x " << shape_str(xs) << (with_bias ? " with bias" : " without bias"));
      Generator gen(++seed);
      const Tensor x0 = Tensor::randn(xs, gen), w0 = Tensor::randn({6, 7}, gen), b0 = Tensor::randn({6}, gen);
      Shape ys = xs;
      ys.back() = 6;
      const Tensor proj = Tensor::randn(ys, gen);
      auto run = [&](bool fused) {
        Tensor x = x0.clone().set_requires_grad(true), w = w0.clone().set_requires_grad(true);
        Tensor b = with_bias ? b0.clone().set_requires_grad(true) : Tensor();
        Tensor y;
        if (fused) {
          y = linear(x, w, b);
        } else {
          Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
          y = matmul(x2, w.transpose(0, 1));
          if (with_bias) y = add(y, b);
          if (x.dim() == 1) y = y.squeeze(0);
        }
        sum(mul(y, proj)).backward();
        std::vector<std::vector<float>> out = {y.to_float_vector(), x.grad().to_float_vector(),
                                               w.grad().to_float_vector()};
        if (with_bias) out.push_back(b.grad().to_float_vector());
        return out;
      };
      const auto fused = run(true), composite = run(false);
      REQUIRE(fused.size() == composite.size());
      for (size_t k = 0; k < fused.size(); ++k) {
        INFO("output #" << k << " (y, dx, dW, db)");
        REQUIRE(fused[k].size() == composite[k].size());
        CHECK(std::memcmp(fused[k].data(), composite[k].data(), fused[k].size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("leaky_relu is exactly x or slope * x, its gradient exactly 1 or the slope (0 takes the slope)",
          "[ops]") {
  const std::vector<float> xs = {-3.5f, -1e-30f, -0.0f, 0.0f, 1e-30f, 2.25f, 7e20f, -7e20f};
  Tensor x = Tensor::from_vector(xs, {int64_t(xs.size())});
  x.set_requires_grad(true);
  const Tensor y = leaky_relu(x, 0.01);
  sum(y).backward();
  const auto yv = y.to_float_vector(), gv = x.grad().to_float_vector();
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO("x = " << xs[i]);
    CHECK(yv[i] == (xs[i] > 0 ? xs[i] : float(0.01 * double(xs[i]))));
    CHECK(gv[i] == (xs[i] > 0 ? 1.0f : float(0.01)));
  }
  CHECK(std::signbit(yv[2]));  // -0 stays -0
  const Tensor nan_in = Tensor::from_vector(std::vector<float>{std::nanf("")}, {1});
  CHECK(std::isnan(leaky_relu(nan_in, 0.01).to_float_vector()[0]));
  CHECK_THROWS_WITH(leaky_relu(x, std::numeric_limits<double>::infinity()), Catch::Contains("must be finite"));
}

TEST_CASE("backward releases its graph unless retain_graph is set", "[autograd]") {
  Generator g(11);
  Tensor w = Tensor::randn({4, 3}, g).set_requires_grad(true);
  const Tensor x = Tensor::randn({5, 4}, g);
  SECTION("a second backward through a released graph throws, saying what to do") {
    Tensor loss = sum(square(matmul(x, w)));
    loss.backward();
    const auto once = w.grad().to_float_vector();
    CHECK(loss.grad_fn()->released);
    CHECK(loss.grad_fn()->inputs.empty());  // the forward's tensors are no longer held
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("retain_graph = true") && Catch::Contains("already run backward"));
    CHECK(w.grad().to_float_vector() == once);  // the refused pass changed nothing
  }
  SECTION("with retain_graph the same graph runs twice and the gradients add up") {
    Tensor loss = sum(square(matmul(x, w)));
    loss.backward(Tensor(), true);
    const auto once = w.grad().to_float_vector();
    CHECK_FALSE(loss.grad_fn()->released);
    loss.backward();
    const auto twice = w.grad().to_float_vector();
    for (size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == 2 * once[i]);  // x + x is exact
  }
  SECTION("a graph that shares a released node is refused too") {
    const Tensor h = matmul(x, w);
    sum(h).backward();
    CHECK_THROWS_WITH(sum(square(h)).backward(), Catch::Contains("already run backward"));
  }
}

TEST_CASE("set_grad shares a gradient buffer, shares_storage tells views from copies", "[autograd]") {
  Generator g(12);
  Tensor w = Tensor::randn({3, 2}, g).set_requires_grad(true);
  const Tensor buf = Tensor::zeros({3, 2});
  w.set_grad(buf);
  CHECK(w.grad().shares_storage(buf));
  sum(w).backward();  // adds to it, into a new buffer: the one given is never written
  for (float v : w.grad().to_float_vector()) CHECK(v == 1.0f);
  for (float v : buf.to_float_vector()) CHECK(v == 0.0f);
  CHECK_FALSE(w.grad().shares_storage(buf));
  CHECK_THROWS_WITH(w.set_grad(Tensor::zeros({2, 3})), Catch::Contains("does not match"));
  w.set_grad(Tensor());
  CHECK_FALSE(w.grad().defined());
  CHECK(w.reshape({6}).shares_storage(w));
  CHECK_FALSE(w.clone().shares_storage(w));
}
