// Multi-teacher weights: AVER, and AEKD's exact active-set solution against hand solutions
// and a brute-force grid search over the capped simplex.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>

#include "sdkd/distill/multi_teacher.hpp"
#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

using namespace sdkd;
using namespace sdkd::distill;
using Gram = std::vector<std::vector<double>>;

namespace {

Gram gram_of(const std::vector<std::vector<double>>& g) {
  Gram G(g.size(), std::vector<double>(g.size(), 0.0));
  for (size_t m = 0; m < g.size(); ++m)
    for (size_t n = 0; n < g.size(); ++n)
      for (size_t i = 0; i < g[m].size(); ++i) G[m][n] += g[m][i] * g[n][i];
  return G;
}

// Least objective over the grid alpha_m in {0, 0.01, ..., C} with sum exactly 1.
double grid_min(const Gram& G, double C) {
  const int M = int(G.size()), steps = 100, cap = int(std::floor(C * steps + 1e-9));
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> a(static_cast<size_t>(M));
  std::function<void(int, int)> rec = [&](int m, int left) {
    if (m == M - 1) {
      if (left > cap) return;
      a[size_t(m)] = left / double(steps);
      best = std::min(best, aekd_objective(G, a));
      return;
    }
    for (int k = 0; k <= std::min(cap, left); ++k) {
      a[size_t(m)] = k / double(steps);
      rec(m + 1, left - k);
    }
  };
  rec(0, steps);
  return best;
}

void check_constraints(const std::vector<double>& a, double C) {
  double sum = 0;
  for (double v : a) {
    CHECK(v >= 0);
    CHECK(v <= C + 1e-12);
    sum += v;
  }
  CHECK(sum == Approx(1.0).epsilon(1e-9));
}

}  // namespace

TEST_CASE("AVER gives equal weights", "[aekd]") {
  CHECK(aver_weights(1) == std::vector<double>{1.0});
  CHECK(aver_weights(4) == std::vector<double>{0.25, 0.25, 0.25, 0.25});
  CHECK_THROWS_AS(aver_weights(0), Error);
}

TEST_CASE("AEKD by hand on two teachers", "[aekd]") {
  // Opposed gradients cancel exactly at (1/2, 1/2).
  auto a = aekd_weights(gram_of({{1, 2}, {-1, -2}}), 0.6);
  CHECK(a[0] == Approx(0.5));
  CHECK(a[1] == Approx(0.5));
  // g2 = 3 g1: |a + 3 (1 - a)| is smallest at the largest a allowed, the cap.
  a = aekd_weights(gram_of({{1, 0}, {3, 0}}), 0.6);
  CHECK(a[0] == Approx(0.6));
  CHECK(a[1] == Approx(0.4));
  // Orthogonal g1 = (1, 0), g2 = (0, 2): a^2 + 4 (1 - a)^2 is least at a = 0.8; capped at 0.6.
  a = aekd_weights(gram_of({{1, 0}, {0, 2}}), 1.0);
  CHECK(a[0] == Approx(0.8));
  a = aekd_weights(gram_of({{1, 0}, {0, 2}}), 0.6);
  CHECK(a[0] == Approx(0.6));
  // All gradients zero: every feasible point is optimal; the answer is feasible.
  check_constraints(aekd_weights(Gram(3, std::vector<double>(3, 0.0)), 0.4), 0.4);
}

TEST_CASE("AEKD is infeasible when M * C < 1, and rejects malformed Gram matrices", "[aekd]") {
  CHECK_THROWS_WITH(aekd_weights(gram_of({{1}, {2}}), 0.4), Catch::Contains("infeasible"));
  CHECK_THROWS_WITH(aekd_weights(Gram{{1, 2}, {0, 1}}, 0.6), Catch::Contains("not symmetric"));
  CHECK_THROWS_AS(aekd_weights(Gram{{1, 2}}, 0.6), Error);
  CHECK_THROWS_AS(aekd_weights(Gram{}, 0.6), Error);
}

TEST_CASE("AEKD beats or ties a 0.01 grid search on random and degenerate cases", "[aekd]") {
  uint64_t idx = 0;
  auto normal = [&] { return Philox::normal(2024, 0, idx++); };
  for (int M : {2, 3, 4})
    for (int trial = 0; trial < 12; ++trial) {
      // Dimension below M gives rank-deficient Gram matrices; trials 8.. are built degenerate.
      const int dim = 1 + trial % 5;
      std::vector<std::vector<double>> g(static_cast<size_t>(M), std::vector<double>(static_cast<size_t>(dim)));
      for (auto& v : g)
        for (double& x : v) x = normal();
      if (trial >= 8) {  // parallel / anti-parallel / duplicate gradients
        for (int m = 1; m < M; ++m)
          for (int i = 0; i < dim; ++i) g[size_t(m)][size_t(i)] = (trial % 2 ? -1.5 : 2.0) * m * g[0][size_t(i)];
        if (trial == 11) g[size_t(M - 1)] = g[0];
      }
      const Gram G = gram_of(g);
      for (double C : {0.6, 1.0, 1.0 / M + 0.05}) {
        if (M * C < 1) continue;
        const auto a = aekd_weights(G, C);
        INFO("M " << M << " trial " << trial << " C " << C);
        REQUIRE(a.size() == size_t(M));
        check_constraints(a, C);
        double scale = 0;
        for (size_t m = 0; m < G.size(); ++m) scale = std::max(scale, G[m][m]);
        CHECK(aekd_objective(G, a) <= grid_min(G, C) + 1e-12 * scale);
      }
    }
}

TEST_CASE("gram_matrix from gradient tensors", "[aekd]") {
  const Tensor g1 = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
  const Tensor g2 = Tensor::from_vector(std::vector<float>{-1, 0, 2}, {1, 3});
  const Gram G = gram_matrix({g1, g2});
  CHECK(G == Gram{{14, 5}, {5, 5}});
  CHECK_THROWS_AS(gram_matrix({g1, Tensor::zeros({2})}), Error);
}
