#include <catch2/catch.hpp>

#include "common/toy.hpp"
#include "model_checks.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/autograd.hpp"

using namespace sdkd;

namespace {
// 3 -> 2 frames of 8x12, hidden width 4.
models::ModelConfig small_cfg() { return test::toy_config("unet", {3, 2, 8, 12}); }
}  // namespace

TEST_CASE("U-Net maps (B, T_in, C, H, W) to (B, T_out, C, H, W) with an H/4 latent tap", "[models]") {
  auto m = model_checks::check_forward_shapes(small_cfg(), 2, {2, 2, 1, 8, 12},
                                              {{"encoder", {2, 16, 2, 3}}, {"latent", {2, 16, 2, 3}}, {"decoder", {2, 8, 4, 6}}});
  // Parameter count by hand for hidden w = 4, cin = 3, cout = 2 (convs without bias + BN affine).
  const int64_t w = 4;
  auto conv = [](int64_t i, int64_t o, int64_t k) { return i * o * k * k; };
  const int64_t expected = conv(3, w, 3) + 2 * w + conv(w, 2 * w, 3) + 4 * w + conv(2 * w, 2 * w, 3) + 4 * w +
                           conv(2 * w, 4 * w, 3) + 8 * w + conv(4 * w, 4 * w, 3) * 2 + 16 * w +
                           conv(4 * w, 2 * w, 4) + 4 * w + conv(4 * w, 2 * w, 3) + 4 * w + conv(2 * w, w, 4) + 2 * w +
                           conv(2 * w, w, 3) + 2 * w + conv(w, 2, 1) + 2;
  CHECK(m->num_parameters() == expected);
}

TEST_CASE("the U-Net's decoder tap is its first decoder stage", "[models]") {
  // Read off the graph: a loss on the tap reaches everything up to dec1 (through the skip s1
  // too) and nothing after it (up2, dec2, the output conv).
  Generator g(3), gx(4);
  auto m = models::make_model(small_cfg(), g);
  const auto out = m->forward(Tensor::randn({2, 3, 1, 8, 12}, gx));
  m->zero_grad();
  sum(square(out.features.at("decoder"))).backward();
  for (auto& [name, p] : m->named_parameters()) {
    INFO(name);
    const bool after = name.rfind("up2.", 0) == 0 || name.rfind("dec2.", 0) == 0 || name.rfind("out.", 0) == 0;
    bool reached = false;
    if (p.grad().defined())
      for (float v : p.grad().to_float_vector()) reached = reached || v != 0.0f;
    CHECK(reached == !after);
  }
}

TEST_CASE("model construction and forward are deterministic for a seed", "[models]") {
  Generator g1(5), g2(5), g3(6), gx(9);
  auto a = models::make_model(small_cfg(), g1), b = models::make_model(small_cfg(), g2),
       c = models::make_model(small_cfg(), g3);
  const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx);
  const auto ya = a->forward(x).pred.to_float_vector(), yb = b->forward(x).pred.to_float_vector();
  const auto yc = c->forward(x).pred.to_float_vector();
  CHECK(ya == yb);
  CHECK(ya != yc);
}

TEST_CASE("residual U-Net with zeroed output conv is exactly persistence", "[models]") {
  Generator g(3);
  auto m = models::make_model(small_cfg(), g);
  for (auto& [name, p] : m->named_parameters())
    if (name.rfind("out.", 0) == 0) p.fill_(0.0);
  Generator gx(4);
  const Tensor x = Tensor::randn({1, 3, 1, 8, 12}, gx);
  const auto y = m->forward(x).pred.to_float_vector();
  const auto xv = x.to_float_vector();
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < 96; ++i) CHECK(y[size_t(t * 96 + i)] == xv[size_t(2 * 96 + i)]);
}

TEST_CASE("wrong input shapes and unknown models give clear errors", "[models]") {
  Generator g(1);
  auto m = models::make_model(small_cfg(), g);
  Generator gx(2);
  CHECK_THROWS_WITH(m->forward(Tensor::randn({2, 4, 1, 8, 12}, gx)),
                    Catch::Contains("expected input (B, 3, 1, 8, 12), got [2, 4, 1, 8, 12]"));
  auto bad = small_cfg();
  bad.name = "transformer9000";
  CHECK_THROWS_WITH(models::make_model(bad, g), Catch::Contains("available: unet"));
  bad = small_cfg();
  bad.height = 10;
  CHECK_THROWS_WITH(models::make_model(bad, g), Catch::Contains("divisible by 4"));
  CHECK_THROWS_WITH(models::ModelConfig::from_json({{"hiden", 3}}), Catch::Contains("unknown key 'hiden'"));
}

TEST_CASE("U-Net gradients agree with finite differences in float64", "[models][autograd]") {
  Generator g(11);
  auto m = models::make_model(small_cfg(), g);
  m->to(DType::f64);
  Generator gx(12);
  const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx, DType::f64), y = Tensor::randn({2, 2, 1, 8, 12}, gx, DType::f64);
  Tensor loss = mse_loss(m->forward(x).pred, y);
  loss.backward();
  for (auto& [name, p] : m->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
  }
  // Directional derivatives along random directions of several weights, by central differences.
  for (const char* which : {"inc.conv.weight", "down2.conv.weight", "up1.up.weight", "dec2.bn.weight", "out.bias"}) {
    INFO(which);
    Tensor w;
    for (auto& [name, p] : m->named_parameters())
      if (name == which) w = p;
    REQUIRE(w.defined());
    const Tensor dir = Tensor::randn(w.shape(), gx, DType::f64);
    double analytic = 0;
    const auto gv = w.grad().to_double_vector(), dv = dir.to_double_vector();
    for (size_t i = 0; i < gv.size(); ++i) analytic += gv[i] * dv[i];
    const Tensor w0 = w.clone().detach();
    const double h = 1e-6;
    NoGradGuard ng;
    w.copy_(add(w0, mul_scalar(dir, h)));
    const double lp = mse_loss(m->forward(x).pred, y).item();
    w.copy_(add(w0, mul_scalar(dir, -h)));
    const double lm = mse_loss(m->forward(x).pred, y).item();
    w.copy_(w0);
    CHECK((lp - lm) / (2 * h) == Approx(analytic).epsilon(1e-6).margin(1e-9));
  }
}
