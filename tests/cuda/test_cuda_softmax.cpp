// softmax (forward and backward) and drop_path on the GPU against their CPU twins: softmax over
// rows of 1 to 4097 values (warp- and block-per-row kernels), over a middle or first dimension
// (strided lanes), with large logits; drop_path's per-sample mask drawn from the same Philox
// numbers as the CPU.
#include <string>

#include "cuda_test.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

// Tolerance: both devices compute exp in float (the GPU's expf is within 2 ulp of the CPU's),
// sum the exponentials (forward) and g * y (backward) in double in a different order, and
// round 1 / sum and the products in float; the results differ by a few float roundings. 1e-4
// relative with a 1e-5 absolute floor (for gradients that cancel to about zero) bounds that
// with a wide margin.
constexpr double kRtol = 1e-4, kAtol = 1e-5;

Tensor leaf(const Tensor& host, const Device& dev) {
  Tensor t = dev == kCuda ? host.to(kCuda) : host.clone();
  t.set_requires_grad(true);
  return t;
}

void check_softmax(const Shape& shape, int64_t dim, double scale, uint64_t seed) {
  const std::string what = "softmax of " + shape_str(shape) + " over dim " + std::to_string(dim) +
                           (scale != 1.0 ? " (logits x" + std::to_string(int(scale)) + ")" : "");
  const Tensor x = cpu_randn(shape, seed, scale), g = cpu_randn(shape, seed + 1);
  Tensor xc = leaf(x, kCpu), xg = leaf(x, kCuda);
  const Tensor yc = softmax(xc, dim), yg = softmax(xg, dim);
  CHECK_CLOSE(yg, yc, kRtol, kAtol, what + ": forward");
  yc.backward(g);
  yg.backward(g.to(kCuda));
  CHECK_CLOSE(xg.grad(), xc.grad(), kRtol, kAtol, what + ": dx");
}

}  // namespace

TEST_CASE("softmax over the last dimension matches the CPU", "[cuda][softmax]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 10;
  // Rows of 1 (y = 1, dx = 0), 5, 32 (one per lane), 1000 (the longest warp-per-row sizes),
  // 4097 (one block per row, not a multiple of anything); batch 1 and several rows.
  for (int64_t D : {1, 5, 32, 1000, 4097}) {
    check_softmax({3, 4, D}, -1, 1.0, seed += 2);
    check_softmax({1, D}, 1, 1.0, seed += 2);
  }
  check_softmax({2, 1025}, -1, 1.0, seed += 2);  // just past the warp-per-row limit
  check_softmax({7, 33}, -1, 1.0, seed += 2);
}

TEST_CASE("softmax stays stable for large logits and works over inner dimensions", "[cuda][softmax]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 100;
  // |logits| up to ~150: exp would overflow without the max subtraction.
  check_softmax({5, 37}, -1, 40.0, seed += 2);
  check_softmax({2, 3000}, -1, 40.0, seed += 2);
  // Lanes `inner` apart: softmax over a middle and over the first dimension.
  check_softmax({6, 33, 5}, 1, 1.0, seed += 2);
  check_softmax({9, 4, 3}, 0, 1.0, seed += 2);
  check_softmax({2, 1100, 3}, 1, 1.0, seed += 2);
}

TEST_CASE("drop_path draws the CPU's per-sample mask and scales the gradient alike", "[cuda][softmax]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape shape;
    double p;
    uint64_t offset;
  };
  const Case cases[] = {{{64, 3, 5}, 0.3, 8}, {{1, 7}, 0.5, 0}, {{200, 2, 2, 3}, 0.1, 4}, {{33, 1}, 0.9, 12}};
  uint64_t seed = 200;
  for (const Case& cs : cases) {
    const std::string what = "drop_path " + shape_str(cs.shape) + " p=" + std::to_string(cs.p);
    INFO(what);
    const Tensor x = cpu_randn(cs.shape, ++seed), g = cpu_randn(cs.shape, ++seed);
    Generator gen_c(77), gen_g(77);
    gen_c.offset = gen_g.offset = cs.offset;
    Tensor xc = leaf(x, kCpu), xg = leaf(x, kCuda);
    const Tensor yc = drop_path(xc, cs.p, true, gen_c), yg = drop_path(xg, cs.p, true, gen_g);
    // The same generator advance and, element for element, the same float product x * mask:
    // the results are bitwise equal, not merely close.
    REQUIRE(gen_g.offset == gen_c.offset);
    REQUIRE(yg.device() == kCuda);
    REQUIRE(yg.shape() == yc.shape());
    REQUIRE(yg.to_float_vector() == yc.to_float_vector());
    yc.backward(g);
    yg.backward(g.to(kCuda));
    REQUIRE(xg.grad().to_float_vector() == xc.grad().to_float_vector());
  }
  // Eval mode (and p = 0) is the identity on both devices and draws nothing.
  Generator gen(5);
  const Tensor x = cpu_randn({4, 3}, 300).to(kCuda);
  REQUIRE(drop_path(x, 0.5, false, gen).to_float_vector() == x.to_float_vector());
  REQUIRE(drop_path(x, 0.0, true, gen).to_float_vector() == x.to_float_vector());
  REQUIRE(gen.offset == 0);
}
