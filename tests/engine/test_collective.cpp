// sync_batch_norm2d and all_reduce_sum (sdkd/collective.hpp), and backward's leaf-ready hook:
// checked against batch_norm2d on the whole batch, finite differences, and the gradients a
// plain backward leaves.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "common/fixtures.hpp"
#include "common/thread_group.hpp"
#include "sdkd/collective.hpp"
#include "sdkd/nn.hpp"

using namespace sdkd;
using sdkd::test::max_abs_diff;
using sdkd::test::randn64;

namespace {

Tensor leaf(const Tensor& t) {
  Tensor l = t.clone();
  l.set_requires_grad(true);
  return l;
}

struct BnCase {
  Tensor x, gamma, beta, rm, rv;
};

BnCase bn_case(DType dt, const Shape& shape, uint64_t seed) {
  const int64_t C = shape[1];
  BnCase c;
  c.x = leaf(add_scalar(mul_scalar(randn64(shape, seed), 2.0), 0.7).to(dt));
  c.gamma = leaf(add_scalar(randn64({C}, seed + 1), 1.0).to(dt));
  c.beta = leaf(randn64({C}, seed + 2).to(dt));
  c.rm = randn64({C}, seed + 3).to(dt);
  c.rv = add_scalar(square(randn64({C}, seed + 4)), 0.5).to(dt);
  return c;
}

}  // namespace

TEST_CASE("sync_batch_norm2d over a group of one is batch_norm2d bit for bit: output, gradients, running statistics") {
  // The same fused kernels with no correction: a 1-rank run normalises exactly as a plain one.
  auto group = dist::single_process_group();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = 0;
    BnCase a = bn_case(dt, {3, 4, 5, 6}, 11), b = bn_case(dt, {3, 4, 5, 6}, 11);
    const Tensor R = randn64({3, 4, 5, 6}, 99).to(dt);
    const Tensor ya = batch_norm2d(a.x, a.gamma, a.beta, a.rm, a.rv, true, 0.1, 1e-5);
    const Tensor yb = sync_batch_norm2d(b.x, b.gamma, b.beta, b.rm, b.rv, *group, 0.1, 1e-5);
    sum(mul(ya, R)).backward();
    sum(mul(yb, R)).backward();
    INFO(dtype_name(dt));
    CHECK(yb.dtype() == dt);
    CHECK(max_abs_diff(ya, yb) == tol);
    CHECK(max_abs_diff(a.x.grad(), b.x.grad()) == tol);
    CHECK(max_abs_diff(a.gamma.grad(), b.gamma.grad()) == tol);
    CHECK(max_abs_diff(a.beta.grad(), b.beta.grad()) == tol);
    CHECK(max_abs_diff(a.rm, b.rm) == tol);
    CHECK(max_abs_diff(a.rv, b.rv) == tol);
  }
}

TEST_CASE("sync_batch_norm2d: float64 gradients match central finite differences") {
  auto group = dist::single_process_group();
  const BnCase c = bn_case(DType::f64, {2, 3, 4, 3}, 5);
  auto f = [&](const std::vector<Tensor>& in) {
    Tensor rm = Tensor::zeros({3}, DType::f64), rv = Tensor::ones({3}, DType::f64);
    return sync_batch_norm2d(in[0], in[1], in[2], rm, rv, *group, 0.1, 1e-5);
  };
  CHECK(sdkd::test::gradcheck(f, {c.x.detach(), c.gamma.detach(), c.beta.detach()}, 1e-6).passed());
}

TEST_CASE("sync_batch_norm2d across ranks of uneven batches equals batch_norm2d on the whole batch") {
  // Batch 6 split 1 / 2 / 3 over three ranks (threads): each normalises its part with the group's
  // statistics; the parts' gradients, put together, are the whole batch's.
  const BnCase whole = bn_case(DType::f64, {6, 3, 4, 5}, 21);
  const Tensor R = randn64({6, 3, 4, 5}, 77);
  {
    Tensor rm = whole.rm, rv = whole.rv;
    sum(mul(batch_norm2d(whole.x, whole.gamma, whole.beta, rm, rv, true, 0.1, 1e-5), R)).backward();
  }
  const std::vector<int64_t> lo = {0, 1, 3}, hi = {1, 3, 6};
  test::ThreadGroup threads(3);
  std::vector<BnCase> part(3);
  std::vector<Tensor> y(3);
  for (int r = 0; r < 3; ++r) {
    const BnCase fresh = bn_case(DType::f64, {6, 3, 4, 5}, 21);
    part[size_t(r)] = {leaf(fresh.x.detach().slice(0, lo[size_t(r)], hi[size_t(r)])), leaf(fresh.gamma.detach()),
                       leaf(fresh.beta.detach()), fresh.rm, fresh.rv};
  }
  threads.run([&](int r) {
    auto g = threads.member(r);
    BnCase& p = part[size_t(r)];
    y[size_t(r)] = sync_batch_norm2d(p.x, p.gamma, p.beta, p.rm, p.rv, *g, 0.1, 1e-5);
    sum(mul(y[size_t(r)], R.slice(0, lo[size_t(r)], hi[size_t(r)]))).backward();
  });
  Tensor expect_y;
  {
    Tensor rm = bn_case(DType::f64, {6, 3, 4, 5}, 21).rm, rv = bn_case(DType::f64, {6, 3, 4, 5}, 21).rv;
    expect_y = batch_norm2d(whole.x.detach(), whole.gamma.detach(), whole.beta.detach(), rm, rv, true, 0.1, 1e-5);
  }
  Tensor dgamma = part[0].gamma.grad(), dbeta = part[0].beta.grad();
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r);
    CHECK(max_abs_diff(y[size_t(r)], expect_y.slice(0, lo[size_t(r)], hi[size_t(r)])) < 1e-11);
    CHECK(max_abs_diff(part[size_t(r)].x.grad(), whole.x.grad().slice(0, lo[size_t(r)], hi[size_t(r)])) < 1e-11);
    CHECK(max_abs_diff(part[size_t(r)].rm, whole.rm) < 1e-12);  // every rank: the global statistics
    CHECK(max_abs_diff(part[size_t(r)].rv, whole.rv) < 1e-12);
    if (r > 0) dgamma = add(dgamma, part[size_t(r)].gamma.grad()), dbeta = add(dbeta, part[size_t(r)].beta.grad());
  }
  // The affine parameters' gradients are each rank's share: their sum is the whole batch's.
  CHECK(max_abs_diff(dgamma, whole.gamma.grad()) < 1e-10);
  CHECK(max_abs_diff(dbeta, whole.beta.grad()) < 1e-10);
}

TEST_CASE("all_reduce_sum: forward sums the members, backward all-reduces the upstream gradient") {
  test::ThreadGroup threads(2);
  std::vector<Tensor> x(2), y(2);
  for (int r = 0; r < 2; ++r) x[size_t(r)] = leaf(randn64({5}, 40 + uint64_t(r)));
  const Tensor w0 = randn64({5}, 50), w1 = randn64({5}, 51);
  threads.run([&](int r) {
    auto g = threads.member(r);
    y[size_t(r)] = all_reduce_sum(x[size_t(r)], *g);
    sum(mul(y[size_t(r)], r == 0 ? w0 : w1)).backward();
  });
  const Tensor expect = add(x[0].detach(), x[1].detach());
  CHECK(max_abs_diff(y[0], expect) == 0);
  CHECK(max_abs_diff(y[1], expect) == 0);
  // L = w0 . (x0 + x1) + w1 . (x0 + x1): dL/dx_r = w0 + w1 for both.
  CHECK(max_abs_diff(x[0].grad(), add(w0, w1)) < 1e-15);
  CHECK(max_abs_diff(x[1].grad(), add(w0, w1)) < 1e-15);
}

TEST_CASE("BatchNorm2d with a sync group of one member keeps the fused path, and sync_batch_norms finds every BatchNorm") {
  struct Net : nn::Module {
    std::shared_ptr<nn::BatchNorm2d> a, b;
    Net() {
      a = register_module("a", std::make_shared<nn::BatchNorm2d>(3));
      b = register_module("b", std::make_shared<nn::BatchNorm2d>(3));
    }
  } net;
  CHECK(nn::sync_batch_norms(net, dist::single_process_group()) == 2);
  CHECK(net.a->sync != nullptr);
  CHECK(net.b->sync != nullptr);
  CHECK(nn::sync_batch_norms(net, nullptr) == 2);
  CHECK(net.a->sync == nullptr);
}

TEST_CASE("backward's leaf-ready hook reports each leaf once, after its last use, with its final gradient") {
  const Tensor a = leaf(randn64({4}, 1)), b = leaf(randn64({4}, 2)), c = leaf(randn64({4}, 3)),
               unused = leaf(randn64({4}, 4));
  // a is used twice (early and late in the graph), b once, c once at the end.
  const Tensor h = mul(a, b);
  const Tensor loss = sum(add(mul(tanh(h), c), mul_scalar(a, 3.0)));
  std::vector<const void*> order;
  std::map<const void*, std::vector<double>> at_report;
  loss.backward(Tensor(), false, [&](const Tensor& l) {
    order.push_back(l.impl());
    at_report[l.impl()] = l.grad().to_double_vector();
  });
  REQUIRE(order.size() == 3);
  CHECK(std::count(order.begin(), order.end(), unused.impl()) == 0);
  for (const Tensor* t : {&a, &b, &c}) {
    INFO("leaf");
    REQUIRE(at_report.count(t->impl()) == 1);
    CHECK(at_report[t->impl()] == t->grad().to_double_vector());  // nothing was added after the report
  }
  // The same gradients as a plain backward.
  const Tensor a2 = leaf(a.detach()), b2 = leaf(b.detach()), c2 = leaf(c.detach());
  sum(add(mul(tanh(mul(a2, b2)), c2), mul_scalar(a2, 3.0))).backward();
  CHECK(a2.grad().to_double_vector() == a.grad().to_double_vector());
  CHECK(b2.grad().to_double_vector() == b.grad().to_double_vector());
}
