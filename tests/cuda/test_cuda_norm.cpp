// BatchNorm2d (train and eval, with the running buffers), GroupNorm and LayerNorm on the GPU
// against their CPU twins: forward values and the gradients of x, gamma and beta, on odd
// shapes, batch 1, shifted data (|mean| >> std) and shapes that take every kernel path
// (chunked planes, warp- and block-per-row LayerNorm, many dgamma row chunks).
#include <functional>
#include <string>

#include "cuda_test.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

// Tolerance for every comparison here: both devices accumulate the statistics and gradient
// sums in double and evaluate the elementwise formulas in double, but in a different order
// (blocks, warps and chunk merges on the GPU; segments and serial merges on the CPU), and the
// CPU's eval-mode gradient is composed from float elementwise ops and float reductions. The
// float results then differ by a few roundings: 1e-4 relative, with a 1e-5 absolute floor for
// values that cancel to about zero (dx of a small group, beta gradients that sum to ~0).
constexpr double kRtol = 1e-4, kAtol = 1e-5;

// A host tensor of normal numbers times `scale` plus `offset`.
Tensor host_data(const Shape& shape, uint64_t seed, double scale = 1.0, double offset = 0.0) {
  Tensor t = cpu_randn(shape, seed, scale);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(p[i] + offset);
  return t;
}

// A fresh leaf with the host values on `dev` (undefined stays undefined).
Tensor leaf(const Tensor& host, const Device& dev) {
  if (!host.defined()) return Tensor();
  Tensor t = dev == kCuda ? host.to(kCuda) : host.clone();
  t.set_requires_grad(true);
  return t;
}

struct Outputs {
  Tensor y, dx, dgamma, dbeta;
};

using NormFn = std::function<Tensor(const Tensor& x, const Tensor& gamma, const Tensor& beta)>;

// Runs `f` on leaves made from the host values on `dev`, then backward with the upstream `gy`.
Outputs run(const NormFn& f, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& gy,
            const Device& dev) {
  Tensor xl = leaf(x, dev), gl = leaf(gamma, dev), bl = leaf(beta, dev);
  Outputs o;
  o.y = f(xl, gl, bl);
  o.y.backward(dev == kCuda ? gy.to(kCuda) : gy);
  o.dx = xl.grad();
  if (gl.defined()) o.dgamma = gl.grad();
  if (bl.defined()) o.dbeta = bl.grad();
  return o;
}

void compare(const Outputs& gpu, const Outputs& cpu, const std::string& what) {
  CHECK_CLOSE(gpu.y, cpu.y, kRtol, kAtol, what + ": forward");
  CHECK_CLOSE(gpu.dx, cpu.dx, kRtol, kAtol, what + ": dx");
  REQUIRE(gpu.dgamma.defined() == cpu.dgamma.defined());
  REQUIRE(gpu.dbeta.defined() == cpu.dbeta.defined());
  if (cpu.dgamma.defined()) CHECK_CLOSE(gpu.dgamma, cpu.dgamma, kRtol, kAtol, what + ": dgamma");
  if (cpu.dbeta.defined()) CHECK_CLOSE(gpu.dbeta, cpu.dbeta, kRtol, kAtol, what + ": dbeta");
}

// gamma around 1 and beta around 0, as after some training; undefined when !affine.
Tensor host_gamma(int64_t n, uint64_t seed, bool affine) { return affine ? host_data({n}, seed, 0.5, 1.0) : Tensor(); }
Tensor host_beta(int64_t n, uint64_t seed, bool affine) { return affine ? host_data({n}, seed, 0.5) : Tensor(); }

}  // namespace

TEST_CASE("batch_norm2d training forward, gradients and running buffers match the CPU", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape shape;
    double scale, offset;
    bool affine;
  };
  // N = 1 with HW > 1; one value per plane (H = W = 1) with N > 1; odd sizes; a plane of
  // 4160 values (split into several stage-1 chunks); data with |mean| >> std; no affine.
  const Case cases[] = {{{4, 3, 5, 6}, 1.0, 0.0, true},    {{1, 5, 3, 7}, 1.0, 0.0, true},
                        {{3, 2, 1, 1}, 1.0, 0.0, true},    {{7, 1, 1, 33}, 2.0, 0.0, true},
                        {{2, 3, 64, 65}, 1.0, 0.0, true},  {{5, 4, 3, 3}, 0.5, 40.0, true},
                        {{2, 3, 4, 5}, 1.0, 0.0, false}};
  uint64_t seed = 100;
  for (const Case& cs : cases) {
    const std::string what = "batch_norm2d train " + shape_str(cs.shape) + (cs.affine ? "" : " (no affine)");
    const int64_t C = cs.shape[1];
    const Tensor x = host_data(cs.shape, ++seed, cs.scale, cs.offset);
    const Tensor gamma = host_gamma(C, ++seed, cs.affine), beta = host_beta(C, ++seed, cs.affine);
    const Tensor gy = cpu_randn(cs.shape, ++seed);
    const Tensor rm0 = host_data({C}, ++seed, 0.1), rv0 = host_data({C}, ++seed, 0.1, 1.0);
    Tensor rm_c = rm0.clone(), rv_c = rv0.clone(), rm_g = rm0.to(kCuda), rv_g = rv0.to(kCuda);
    const double momentum = 0.1, eps = 1e-5;
    const Outputs cpu = run(
        [&](const Tensor& a, const Tensor& g, const Tensor& b) {
          return batch_norm2d(a, g, b, rm_c, rv_c, true, momentum, eps);
        },
        x, gamma, beta, gy, kCpu);
    const Outputs gpu = run(
        [&](const Tensor& a, const Tensor& g, const Tensor& b) {
          return batch_norm2d(a, g, b, rm_g, rv_g, true, momentum, eps);
        },
        x, gamma, beta, gy, kCuda);
    compare(gpu, cpu, what);
    CHECK_CLOSE(rm_g, rm_c, kRtol, kAtol, what + ": running_mean");
    CHECK_CLOSE(rv_g, rv_c, kRtol, kAtol, what + ": running_var (unbiased update)");
  }
}

TEST_CASE("batch_norm2d eval forward and gradients match the CPU", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 200;
  for (const Shape& shape : {Shape{4, 3, 5, 6}, Shape{1, 5, 1, 1}, Shape{2, 7, 9, 3}}) {
    for (bool affine : {true, false}) {
      const std::string what = "batch_norm2d eval " + shape_str(shape) + (affine ? "" : " (no affine)");
      const int64_t C = shape[1];
      const Tensor x = host_data(shape, ++seed);
      const Tensor gamma = host_gamma(C, ++seed, affine), beta = host_beta(C, ++seed, affine);
      const Tensor gy = cpu_randn(shape, ++seed);
      const Tensor rm0 = host_data({C}, ++seed, 0.3), rv0 = host_data({C}, ++seed, 0.2, 1.0);
      Tensor rm_c = rm0.clone(), rv_c = rv0.clone(), rm_g = rm0.to(kCuda), rv_g = rv0.to(kCuda);
      // Without gradients both devices run their fused eval kernel.
      const Tensor yc = batch_norm2d(x, gamma, beta, rm_c, rv_c, false);
      const Tensor yg = batch_norm2d(x.to(kCuda), affine ? gamma.to(kCuda) : Tensor(),
                                     affine ? beta.to(kCuda) : Tensor(), rm_g, rv_g, false);
      CHECK_CLOSE(yg, yc, kRtol, kAtol, what + ": forward without grad");
      // With gradients the CPU composes elementwise ops; the GPU records its fused backward.
      const Outputs cpu = run(
          [&](const Tensor& a, const Tensor& g, const Tensor& b) { return batch_norm2d(a, g, b, rm_c, rv_c, false); },
          x, gamma, beta, gy, kCpu);
      const Outputs gpu = run(
          [&](const Tensor& a, const Tensor& g, const Tensor& b) { return batch_norm2d(a, g, b, rm_g, rv_g, false); },
          x, gamma, beta, gy, kCuda);
      compare(gpu, cpu, what);
      // Eval mode leaves the running buffers alone.
      REQUIRE(rm_g.to_float_vector() == rm0.to_float_vector());
      REQUIRE(rv_g.to_float_vector() == rv0.to_float_vector());
    }
  }
}

TEST_CASE("group_norm forward and gradients match the CPU for 1, 2 and C groups", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape shape;
    int64_t groups;
    double offset;
    bool affine;
  };
  const Case cases[] = {
      {{2, 6, 5, 7}, 1, 0.0, true},   {{2, 6, 5, 7}, 2, 0.0, true},    {{2, 6, 5, 7}, 3, 0.0, true},
      {{2, 6, 5, 7}, 6, 0.0, true},   {{1, 4, 3, 3}, 1, 0.0, true},    {{1, 4, 3, 3}, 2, 0.0, true},
      {{1, 4, 3, 3}, 4, 0.0, true},   {{3, 4, 64, 65}, 2, 0.0, true},  {{2, 8, 1, 5}, 8, 25.0, true},
      {{3, 6, 4, 4}, 2, 0.0, false},  {{1, 3, 11}, 3, 0.0, true},
  };
  uint64_t seed = 300;
  for (const Case& cs : cases) {
    const std::string what = "group_norm " + shape_str(cs.shape) + " groups " + std::to_string(cs.groups) +
                             (cs.affine ? "" : " (no affine)");
    const int64_t C = cs.shape[1];
    const Tensor x = host_data(cs.shape, ++seed, 1.0, cs.offset);
    const Tensor gamma = host_gamma(C, ++seed, cs.affine), beta = host_beta(C, ++seed, cs.affine);
    const Tensor gy = cpu_randn(cs.shape, ++seed);
    const NormFn f = [&](const Tensor& a, const Tensor& g, const Tensor& b) { return group_norm(a, cs.groups, g, b); };
    compare(run(f, x, gamma, beta, gy, kCuda), run(f, x, gamma, beta, gy, kCpu), what);
  }
}

TEST_CASE("layer_norm over the last dimension matches the CPU", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  // D = 1 (zero variance: y = beta, dx = 0), odd D, a warp-sized D, D > 1024 (one block per
  // row), and row counts from 1 to thousands (many dgamma / dbeta row chunks).
  struct Case {
    Shape shape;
    double offset;
    bool affine;
  };
  const Case cases[] = {
      {{3, 5, 1}, 0.0, true},    {{3, 5, 7}, 0.0, true},     {{1, 7}, 0.0, true},       {{4, 64}, 0.0, true},
      {{300, 64}, 0.0, true},    {{2, 3, 129}, 0.0, true},   {{5, 1000}, 0.0, true},    {{1, 1000}, 0.0, true},
      {{3, 1500}, 0.0, true},    {{9000, 7}, 0.0, true},     {{6, 129}, 30.0, true},    {{4, 7, 33}, 0.0, false},
  };
  uint64_t seed = 400;
  for (const Case& cs : cases) {
    const std::string what = "layer_norm " + shape_str(cs.shape) + (cs.affine ? "" : " (no affine)");
    const int64_t D = cs.shape.back();
    const Tensor x = host_data(cs.shape, ++seed, 1.0, cs.offset);
    const Tensor gamma = host_gamma(D, ++seed, cs.affine), beta = host_beta(D, ++seed, cs.affine);
    const Tensor gy = cpu_randn(cs.shape, ++seed);
    const NormFn f = [](const Tensor& a, const Tensor& g, const Tensor& b) { return layer_norm(a, g, b); };
    compare(run(f, x, gamma, beta, gy, kCuda), run(f, x, gamma, beta, gy, kCpu), what);
  }
}

TEST_CASE("layer_norm of a non-contiguous view matches the CPU", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  // The op makes its input contiguous; the gradient flows back through the transpose.
  const Tensor x = host_data({9, 4, 6}, 501);
  const Tensor gamma = host_gamma(4, 502, true), beta = host_beta(4, 503, true);
  const Tensor gy = cpu_randn({9, 6, 4}, 504);
  const NormFn f = [](const Tensor& a, const Tensor& g, const Tensor& b) { return layer_norm(a.transpose(1, 2), g, b); };
  compare(run(f, x, gamma, beta, gy, kCuda), run(f, x, gamma, beta, gy, kCpu), "layer_norm of a transposed view");
}

TEST_CASE("norm kernels are deterministic on the GPU", "[cuda][norm]") {
  SDKD_CUDA_OR_SKIP();
  // No atomics: two runs give bitwise-equal results.
  const Tensor x = host_data({3, 4, 64, 65}, 601), gy = cpu_randn({3, 4, 64, 65}, 602);
  const Tensor gamma = host_gamma(4, 603, true), beta = host_beta(4, 604, true);
  const NormFn f = [](const Tensor& a, const Tensor& g, const Tensor& b) { return group_norm(a, 2, g, b); };
  const Outputs a = run(f, x, gamma, beta, gy, kCuda), b = run(f, x, gamma, beta, gy, kCuda);
  REQUIRE(a.y.to_float_vector() == b.y.to_float_vector());
  REQUIRE(a.dx.to_float_vector() == b.dx.to_float_vector());
  REQUIRE(a.dgamma.to_float_vector() == b.dgamma.to_float_vector());
  const Tensor xl = host_data({2000, 129}, 605), gl = cpu_randn({2000, 129}, 606);
  const Tensor g2 = host_gamma(129, 607, true), b2 = host_beta(129, 608, true);
  const NormFn ln = [](const Tensor& a, const Tensor& g, const Tensor& b) { return layer_norm(a, g, b); };
  const Outputs c = run(ln, xl, g2, b2, gl, kCuda), d = run(ln, xl, g2, b2, gl, kCuda);
  REQUIRE(c.dgamma.to_float_vector() == d.dgamma.to_float_vector());
  REQUIRE(c.dbeta.to_float_vector() == d.dbeta.to_float_vector());
}
