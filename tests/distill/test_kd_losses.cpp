// Baseline KD losses against hand computations and float64 finite differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "sdkd/distill/kd_losses.hpp"
#include "engine/gradcheck.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::distill;

TEST_CASE("output KD and feature MSE by hand, the teacher gets no gradient", "[kd_losses]") {
  Tensor s = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor t = Tensor::from_vector(std::vector<double>{0, 2, 5, 1}, {1, 1, 2, 2});
  s.set_requires_grad(true);
  t.set_requires_grad(true);
  // (1 + 0 + 4 + 9) / 4
  CHECK(output_kd_loss(s, t).item() == Approx(3.5).epsilon(1e-15));
  CHECK(feature_mse_loss(s, t).item() == Approx(3.5).epsilon(1e-15));
  feature_mse_loss(s, t).backward();
  // d/ds = 2 (s - t) / 4
  CHECK(s.grad().to_double_vector() == std::vector<double>{0.5, 0.0, -1.0, 1.5});
  CHECK_FALSE(t.grad().defined());
  CHECK_THROWS_AS(output_kd_loss(s, Tensor::zeros({4}, DType::f64)), Error);
}

TEST_CASE("output KD and feature MSE gradients match finite differences", "[kd_losses]") {
  const Tensor t = test::randn64({2, 3, 4, 5}, 9);
  CHECK(test::gradcheck([&](const std::vector<Tensor>& in) { return output_kd_loss(in[0], t); }, {test::randn64({2, 3, 4, 5}, 1)}).passed());
  CHECK(test::gradcheck([&](const std::vector<Tensor>& in) { return feature_mse_loss(in[0], t); },
                  {test::randn64({2, 3, 4, 5}, 2)}).passed());
}

TEST_CASE("activation-boundary loss by hand", "[kd_losses]") {
  // Teacher fires (t > 0): relu(1 - s)^2; otherwise (t <= 0, zero included): relu(1 + s)^2.
  Tensor s = Tensor::from_vector(std::vector<double>{0.5, -2, 3, -0.5, 0.2, 1.0}, {1, 6, 1, 1});
  const Tensor t = Tensor::from_vector(std::vector<double>{1, 1, -1, -1, 0, 2}, {1, 6, 1, 1});
  s.set_requires_grad(true);
  // 0.25 + 9 + 16 + 0.25 + 1.44 + 0 = 26.94, over 6 elements
  const Tensor loss = ab_loss(s, t);
  CHECK(loss.item() == Approx(26.94 / 6).epsilon(1e-14));
  loss.backward();
  // d/ds: -2 relu(1 - s) where t > 0, +2 relu(1 + s) otherwise, over 6.
  const std::vector<double> want{-1.0 / 6, -6.0 / 6, 8.0 / 6, 1.0 / 6, 2.4 / 6, 0.0};
  const auto got = s.grad().to_double_vector();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-15));
  // Margin 0.5: only the elements inside the margin or on the wrong side count.
  CHECK(ab_loss(s, t, 0.5).item() == Approx((0 + 6.25 + 12.25 + 0 + 0.49 + 0) / 6).epsilon(1e-14));
}

TEST_CASE("activation-boundary loss matches a direct loop and finite differences", "[kd_losses]") {
  const Tensor s = test::randn64({2, 3, 4, 4}, 3), t = test::randn64({2, 3, 4, 4}, 4);
  const auto vs = s.to_double_vector(), vt = t.to_double_vector();
  for (double mu : {0.0, 0.3, 1.0, 2.0}) {
    double want = 0;
    for (size_t i = 0; i < vs.size(); ++i) {
      const double h = vt[i] > 0 ? std::max(0.0, mu - vs[i]) : std::max(0.0, mu + vs[i]);
      want += h * h;
    }
    CHECK(ab_loss(s, t, mu).item() == Approx(want / double(vs.size())).epsilon(1e-13));
    CHECK(ab_loss(s.to(DType::f32), t.to(DType::f32), mu).item() == Approx(want / double(vs.size())).epsilon(1e-5));
  }
  CHECK(test::gradcheck([&](const std::vector<Tensor>& in) { return ab_loss(in[0], t, 0.7); }, {test::randn64({2, 3, 4, 4}, 5)}).passed());
  CHECK_THROWS_AS(ab_loss(s, t, -1.0), Error);
}
