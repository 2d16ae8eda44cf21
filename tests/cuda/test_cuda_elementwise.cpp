// Elementwise ops on the GPU against their CPU twins: broadcasting binary ops (every path of
// the launcher: float4, scalar operand, strided broadcast, unaligned and non-contiguous
// inputs), the pointwise activations with their fused backward, scalar helpers, expand and
// dropout (same Philox mask as the CPU).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {


// Normal numbers pushed away from zero (|v| >= 0.5), for divisors.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Tensor t = cpu_randn(shape, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] >= 0 ? p[i] + 0.5f : p[i] - 0.5f;
  return t;
}

// Positive numbers in [0.1, ~4], for log, sqrt and fractional powers.
Tensor positive(const Shape& shape, uint64_t seed) {
  Tensor t = cpu_randn(shape, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::fabs(p[i]) + 0.1f;
  return t;
}

// Runs backward on both devices with the same random upstream gradient.
void backward_both(const Tensor& out_cpu, const Tensor& out_gpu, uint64_t seed) {
  const Tensor g = cpu_randn(out_cpu.shape(), seed);
  out_cpu.backward(g);
  out_gpu.backward(g.to(kCuda));
}

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

}  // namespace

TEST_CASE("binary ops broadcast like the CPU, forward and gradients", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape a, b;
    const char* what;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 7}, {3, 1, 1}, "(B,C,H,W) + (C,1,1)"},
      {{1}, {37}, "(1,) + (N,)"},
      {{1037}, {1037}, "same shape, float4 path with a tail"},
      {{4, 1, 6}, {1, 5, 1}, "both operands broadcast"},
      {{}, {3, 4}, "0-d scalar on the left"},
      {{3, 4, 5}, {}, "0-d scalar on the right"},
      {{1, 3, 4, 4}, {1, 3, 4, 4}, "batch 1"},
      {{2, 1, 9}, {7, 1}, "rank-extending broadcast"},
  };
  const std::vector<std::pair<const char*, BinaryFn>> ops = {
      {"add", &add}, {"sub", &sub}, {"mul", &mul}, {"div", &div}};
  uint64_t seed = 100;
  for (const auto& c : cases) {
    for (const auto& [name, fn] : ops) {
      const std::string what = std::string(name) + " " + c.what;
      LeafPair a = leaf_pair(cpu_randn(c.a, ++seed)), b = leaf_pair(away_from_zero(c.b, ++seed));
      const Tensor oc = fn(a.cpu, b.cpu), og = fn(a.gpu, b.gpu);
      // One IEEE operation per element on both devices: equal up to float rounding (exact in practice).
      CHECK_CLOSE(og, oc, 1e-6, 1e-7, what + " forward");
      backward_both(oc, og, ++seed);
      // Gradients go through sum_to (double accumulation in a different order): 1e-5 relative.
      CHECK_CLOSE(a.gpu.grad(), a.cpu.grad(), 1e-5, 1e-6, what + " grad a");
      CHECK_CLOSE(b.gpu.grad(), b.cpu.grad(), 1e-5, 1e-6, what + " grad b");
    }
  }
}

TEST_CASE("binary ops on non-contiguous and unaligned views", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  for (BinaryFn fn : std::vector<BinaryFn>{&add, &sub, &mul, &div}) {
    // Transposed left operand: the strided path.
    LeafPair a = leaf_pair(cpu_randn({5, 6}, 1)), b = leaf_pair(away_from_zero({6, 5}, 2));
    Tensor oc = fn(a.cpu.transpose(0, 1), b.cpu), og = fn(a.gpu.transpose(0, 1), b.gpu);
    CHECK_CLOSE(og, oc, 1e-6, 1e-7, "transposed operand forward");
    backward_both(oc, og, 3);
    CHECK_CLOSE(a.gpu.grad(), a.cpu.grad(), 1e-5, 1e-6, "transposed operand grad a");
    CHECK_CLOSE(b.gpu.grad(), b.cpu.grad(), 1e-5, 1e-6, "transposed operand grad b");
    // Offset by one element: the pointers are not 16-byte aligned, so no float4 loads.
    LeafPair c = leaf_pair(cpu_randn({33}, 4)), d = leaf_pair(away_from_zero({34}, 5));
    oc = fn(c.cpu.slice(0, 1, 33), d.cpu.slice(0, 2, 34));
    og = fn(c.gpu.slice(0, 1, 33), d.gpu.slice(0, 2, 34));
    CHECK_CLOSE(og, oc, 1e-6, 1e-7, "unaligned operands forward");
    backward_both(oc, og, 6);
    CHECK_CLOSE(c.gpu.grad(), c.cpu.grad(), 1e-5, 1e-6, "unaligned operands grad a");
    CHECK_CLOSE(d.gpu.grad(), d.cpu.grad(), 1e-5, 1e-6, "unaligned operands grad b");
  }
}

TEST_CASE("scalar helpers and expand stay on the tensor's device", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  LeafPair a = leaf_pair(cpu_randn({3, 1, 5}, 7));
  const Tensor oc = add(mul_scalar(neg(a.cpu), 2.5), add_scalar(expand(a.cpu, {2, 3, 4, 5}), -0.75));
  const Tensor og = add(mul_scalar(neg(a.gpu), 2.5), add_scalar(expand(a.gpu, {2, 3, 4, 5}), -0.75));
  CHECK_CLOSE(og, oc, 1e-6, 1e-7, "scalar ops + expand forward");
  backward_both(oc, og, 8);
  CHECK_CLOSE(a.gpu.grad(), a.cpu.grad(), 1e-5, 1e-6, "scalar ops + expand grad");
}

TEST_CASE("pointwise ops and their fused backward match the CPU", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  struct Op {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    bool positive_only;  // domain: log, sqrt, fractional powers
    double scale;        // spread of the inputs
    bool transcendental;
  };
  const std::vector<Op> ops = {
      {"exp", [](const Tensor& x) { return exp(x); }, false, 2, true},
      {"log", [](const Tensor& x) { return log(x); }, true, 1, true},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, true, 1, false},
      {"abs", [](const Tensor& x) { return abs(x); }, false, 1, false},
      {"square", [](const Tensor& x) { return square(x); }, false, 1, false},
      {"pow 1.5", [](const Tensor& x) { return pow_scalar(x, 1.5); }, true, 1, true},
      {"pow 3", [](const Tensor& x) { return pow_scalar(x, 3.0); }, false, 1, true},
      {"tanh", [](const Tensor& x) { return tanh(x); }, false, 2, true},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, false, 3, true},
      {"relu", [](const Tensor& x) { return relu(x); }, false, 1, false},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); }, false, 1, false},
      {"silu", [](const Tensor& x) { return silu(x); }, false, 3, true},
      {"gelu", [](const Tensor& x) { return gelu(x); }, false, 3, true},
  };
  uint64_t seed = 500;
  for (const auto& op : ops) {
    // Odd sizes (float4 path + tail), a transposed input (copied to contiguous first), an
    // input offset by one element (unaligned: scalar path) and a single element.
    for (int variant = 0; variant < 4; ++variant) {
      const Shape shape = variant == 0   ? Shape{4099}
                          : variant == 1 ? Shape{3, 17, 5}
                          : variant == 2 ? Shape{35}
                                         : Shape{1};
      Tensor host = op.positive_only ? positive(shape, ++seed) : cpu_randn(shape, ++seed, op.scale);
      LeafPair x = leaf_pair(host);
      auto input = [&](const Tensor& t) {
        if (variant == 1) return t.transpose(0, 2);
        if (variant == 2) return t.slice(0, 1, 35);
        return t;
      };
      const std::string what = std::string(op.name) + " variant " + std::to_string(variant);
      const Tensor oc = op.f(input(x.cpu)), og = op.f(input(x.gpu));
      // CUDA's expf/logf/tanhf/powf/erfcf are within a few ulp of the correctly rounded value
      // the CPU twin gets from double math: 2e-6 relative (~16 ulp) plus a small absolute
      // floor near zero. The others are exact float operations.
      if (op.transcendental) CHECK_CLOSE(og, oc, 2e-6, 1e-6, what + " forward");
      else CHECK_CLOSE(og, oc, 1e-6, 1e-7, what + " forward");
      backward_both(oc, og, ++seed);
      // The GPU forms f' in float from its own y (the CPU in double, then rounds): where the
      // derivative cancels (silu and gelu near their zeros, 1 - y^2 near saturation) a few ulp
      // of the terms, times |g| up to ~4, need an absolute floor. The exact operations give
      // the same float derivative and the same product g * f'.
      if (op.transcendental) CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-5, 1e-5, what + " grad");
      else CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-6, 1e-7, what + " grad");
    }
  }
}

TEST_CASE("dropout draws the CPU's mask for the same generator state", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  for (int64_t n : {1, 385, 4099}) {
    LeafPair x = leaf_pair(cpu_randn({n}, 9));
    Generator gc(1234), gg(1234);
    gc.offset = gg.offset = 17;
    const Tensor yc = dropout(x.cpu, 0.3, true, gc), yg = dropout(x.gpu, 0.3, true, gg);
    REQUIRE(gc.offset == gg.offset);
    // Same Philox numbers and the same float scale: the outputs are bitwise equal.
    REQUIRE(yg.to_float_vector() == yc.to_float_vector());
    backward_both(yc, yg, 10);
    REQUIRE(x.gpu.grad().to_float_vector() == x.cpu.grad().to_float_vector());
  }
  // In eval mode it is the identity on both devices.
  Generator g(1);
  const Tensor x = cpu_randn({7}, 3).to(kCuda);
  REQUIRE(dropout(x, 0.5, false, g).to_float_vector() == x.to_float_vector());
}

TEST_CASE("elementwise ops refuse float64 and mixed devices on the GPU with a clear error", "[cuda][elementwise]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor d = cpu_randn({3}, 1).to(DType::f64).to(kCuda);
  REQUIRE_THROWS_WITH(add(d, d), Catch::Contains("float32"));
  REQUIRE_THROWS_WITH(exp(d), Catch::Contains("float32"));
  const Tensor f = cpu_randn({3}, 1);
  REQUIRE_THROWS_WITH(mul(f.to(kCuda), f), Catch::Contains("different devices"));
}
