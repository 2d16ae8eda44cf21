// softmax, the fused multi-head attention op and drop_path, against compositions of other
// ops, hand loops and finite differences.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.hpp"
#include "sdkd/ops_nn.hpp"
#include "sdkd/threads.hpp"

using namespace sdkd;
using sdkd::test::gradcheck;
using sdkd::test::max_abs_diff;
using sdkd::test::randn64;

namespace {

// The unfused reference from the engine's other ops: matmul, exp / sum softmax, matmul.
// (No max shift: the test inputs are small, so exp cannot overflow.)
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v) {
  const double scale = 1.0 / std::sqrt(double(q.size(3)));
  const Tensor s = mul_scalar(matmul(q, k.transpose(2, 3)), scale);
  const Tensor e = exp(s);
  const Tensor p = div(e, sum(e, {-1}, true));
  return matmul(p, v);
}

struct Grads {
  Tensor out, dq, dk, dv;
};

// Output and gradients of sum(f(q, k, v) * R) for a fixed random R.
template <class F>
Grads run_with_grads(F f, const Tensor& q0, const Tensor& k0, const Tensor& v0) {
  Tensor q = q0.clone().set_requires_grad(true), k = k0.clone().set_requires_grad(true),
         v = v0.clone().set_requires_grad(true);
  Tensor out = f(q, k, v);
  Generator g(99);
  const Tensor R = Tensor::randn(out.shape(), g, out.dtype());
  sum(mul(out, R)).backward();
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

bool bitwise_equal(const Tensor& a, const Tensor& b) { return a.to_double_vector() == b.to_double_vector(); }

}  // namespace

TEST_CASE("softmax matches a hand loop along every dim and is stable for large inputs", "[ops]") {
  const Tensor x = randn64({3, 4, 5}, 1);
  const auto xv = x.to_double_vector();
  const int64_t sizes[3] = {3, 4, 5}, strides[3] = {20, 5, 1};
  for (int dim = 0; dim < 3; ++dim) {
    INFO("dim " << dim);
    const auto yv = softmax(x, dim).to_double_vector();
    for (int64_t i = 0; i < 60; ++i) {
      const int64_t pos = (i / strides[dim]) % sizes[dim], base = i - pos * strides[dim];
      double total = 0;
      for (int64_t j = 0; j < sizes[dim]; ++j) total += std::exp(xv[size_t(base + j * strides[dim])]);
      CHECK(yv[size_t(i)] == Approx(std::exp(xv[size_t(i)]) / total).margin(1e-15));
    }
  }
  // Shift invariance with values whose exp overflows: only a max-shifted kernel survives this.
  const Tensor big = add_scalar(x, 1000.0);
  CHECK(max_abs_diff(softmax(big, 1), softmax(x, 1)) < 1e-11);  // x + 1000 rounds x at ~1e-13
  CHECK(max_abs_diff(softmax(x.to(DType::f32), -1), softmax(x, -1)) < 1e-6);
  CHECK_THROWS_WITH(softmax(x, 3), Catch::Contains("softmax"));
}

TEST_CASE("softmax has correct gradients", "[autograd]") {
  const Tensor x = randn64({3, 4, 5}, 2);
  for (int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    CHECK(gradcheck([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x.clone()}).passed());
  }
  // A non-contiguous input goes through the same path.
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return softmax(in[0].transpose(0, 2), 1); }, {x.clone()}).passed());
}

TEST_CASE("fused attention matches matmul-softmax-matmul in values and gradients", "[ops][attention]") {
  struct Case {
    int64_t B, heads, N, M, d;
  };
  // Odd sizes, a single row, M != N, and sizes that cross the kernel's 64 x 128 tiles.
  const Case cases[] = {{2, 3, 17, 17, 8}, {1, 1, 1, 1, 3}, {2, 2, 17, 5, 3}, {1, 2, 5, 17, 3}, {1, 2, 70, 130, 4}};
  for (const auto& c : cases) {
    INFO("B " << c.B << " heads " << c.heads << " N " << c.N << " M " << c.M << " d " << c.d);
    const Tensor q = randn64({c.B, c.heads, c.N, c.d}, 10), k = randn64({c.B, c.heads, c.M, c.d}, 11),
                 v = randn64({c.B, c.heads, c.M, c.d}, 12);
    const Grads fused = run_with_grads(multi_head_attention, q, k, v);
    const Grads naive = run_with_grads(naive_attention, q, k, v);
    REQUIRE(fused.out.shape() == Shape{c.B, c.heads, c.N, c.d});
    CHECK(max_abs_diff(fused.out, naive.out) < 1e-12);
    CHECK(max_abs_diff(fused.dq, naive.dq) < 1e-11);
    CHECK(max_abs_diff(fused.dk, naive.dk) < 1e-11);
    CHECK(max_abs_diff(fused.dv, naive.dv) < 1e-11);
    // float32 through the same kernel, against the float64 result.
    const Grads f32 = run_with_grads(multi_head_attention, q.to(DType::f32), k.to(DType::f32), v.to(DType::f32));
    CHECK(f32.out.dtype() == DType::f32);
    CHECK(max_abs_diff(f32.out, fused.out) < 2e-5);
    CHECK(max_abs_diff(f32.dq, fused.dq) < 1e-4);
    CHECK(max_abs_diff(f32.dk, fused.dk) < 1e-4);
    CHECK(max_abs_diff(f32.dv, fused.dv) < 1e-4);
  }
}

TEST_CASE("fused attention rescales correctly when a later key tile holds the row maximum", "[ops][attention]") {
  // Positive queries and keys that grow along M: every key tile raises the running maximum,
  // so the online-softmax correction of earlier tiles is exercised (with random data it
  // rarely matters).
  const int64_t M = 300;
  std::vector<double> ramp(static_cast<size_t>(M));
  for (int64_t j = 0; j < M; ++j) ramp[size_t(j)] = double(j) / 60.0;
  const Tensor q = add_scalar(abs(randn64({1, 2, 3, 4}, 13)), 0.5);
  const Tensor k = add(mul_scalar(randn64({1, 2, M, 4}, 14), 0.3), Tensor::from_vector(ramp, {1, 1, M, 1}));
  const Tensor v = randn64({1, 2, M, 4}, 15);
  const Grads fused = run_with_grads(multi_head_attention, q, k, v);
  const Grads naive = run_with_grads(naive_attention, q, k, v);
  CHECK(max_abs_diff(fused.out, naive.out) < 1e-12);
  CHECK(max_abs_diff(fused.dq, naive.dq) < 1e-11);
  CHECK(max_abs_diff(fused.dk, naive.dk) < 1e-11);
  CHECK(max_abs_diff(fused.dv, naive.dv) < 1e-11);
}

TEST_CASE("fused attention passes a float64 gradient check", "[autograd][attention]") {
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return multi_head_attention(x[0], x[1], x[2]); },
            {randn64({1, 2, 3, 3}, 20), randn64({1, 2, 4, 3}, 21), randn64({1, 2, 4, 3}, 22)}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return multi_head_attention(x[0], x[1], x[2]); },
            {randn64({2, 1, 1, 2}, 23), randn64({2, 1, 2, 2}, 24), randn64({2, 1, 2, 2}, 25)}).passed());
  // Strided views as inputs (a head split by permute, as the models do).
  CHECK(gradcheck(
      [](const std::vector<Tensor>& x) {
        const Tensor q = x[0].permute({0, 2, 1, 3});
        return multi_head_attention(q, q, q);
      },
      {randn64({1, 3, 2, 2}, 26)}).passed());
}

TEST_CASE("fused attention does not depend on the thread count", "[attention]") {
  Generator g(5);
  const Tensor q = Tensor::randn({3, 2, 40, 8}, g), k = Tensor::randn({3, 2, 70, 8}, g),
               v = Tensor::randn({3, 2, 70, 8}, g);
  const int saved = num_threads();
  set_num_threads(1);
  const Grads one = run_with_grads(multi_head_attention, q, k, v);
  set_num_threads(3);
  const Grads three = run_with_grads(multi_head_attention, q, k, v);
  set_num_threads(saved);
  CHECK(bitwise_equal(one.out, three.out));
  CHECK(bitwise_equal(one.dq, three.dq));
  CHECK(bitwise_equal(one.dk, three.dk));
  CHECK(bitwise_equal(one.dv, three.dv));
}

TEST_CASE("fused attention rejects mismatched shapes with the op's name", "[attention]") {
  const Tensor q = Tensor::zeros({1, 2, 3, 4}), k = Tensor::zeros({1, 2, 5, 4});
  CHECK_THROWS_WITH(multi_head_attention(q, k, Tensor::zeros({1, 2, 6, 4})), Catch::Contains("same shape"));
  CHECK_THROWS_WITH(multi_head_attention(q, Tensor::zeros({1, 2, 5, 3}), Tensor::zeros({1, 2, 5, 3})),
                    Catch::Contains("multi_head_attention"));
  CHECK_THROWS_WITH(multi_head_attention(q.reshape({2, 3, 4}), k, k), Catch::Contains("(B, heads, N, d)"));
  CHECK_THROWS_WITH(multi_head_attention(q, k.to(DType::f64), k), Catch::Contains("dtype"));
}

TEST_CASE("drop_path keeps or drops whole samples by the counter-based draw", "[ops]") {
  const int64_t n = 4000;
  const Tensor x = randn64({n, 3, 2}, 30);
  const double p = 0.3;
  Generator gen(77);
  gen.offset = 8;
  Tensor xr = x.clone().set_requires_grad(true);
  const Tensor y = drop_path(xr, p, true, gen);
  CHECK(gen.offset == 8 + n);
  sum(y).backward();
  const auto xv = x.to_double_vector(), yv = y.to_double_vector(), gv = xr.grad().to_double_vector();
  int64_t kept = 0;
  for (int64_t b = 0; b < n; ++b) {
    const bool keep = Philox::uniform(77, 3, uint64_t(8 + b)) > p;
    kept += keep;
    const double s = keep ? 1.0 / (1.0 - p) : 0.0;
    for (int64_t e = 0; e < 6; ++e) {
      const size_t i = size_t(b * 6 + e);
      REQUIRE(yv[i] == Approx(s * xv[i]).margin(1e-15));
      REQUIRE(gv[i] == Approx(s).margin(1e-15));
    }
  }
  CHECK(double(kept) / double(n) == Approx(1.0 - p).margin(0.03));
  // Eval mode and p = 0 are the identity and draw nothing.
  CHECK(max_abs_diff(drop_path(x, p, false, gen), x) == 0.0);
  CHECK(max_abs_diff(drop_path(x, 0.0, true, gen), x) == 0.0);
  CHECK(gen.offset == 8 + n);
  CHECK_THROWS_WITH(drop_path(x, 1.0, true, gen), Catch::Contains("drop_path"));
}
