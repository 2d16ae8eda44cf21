// The fused multi-head attention kernels (forward, the atomic and the deterministic backward)
// against the CPU twin: output, dq, dk and dv on odd shapes, N = 1, padded head dimensions,
// cross attention (M != N) and the AlterNet paper shape.
//
// Tolerance: both sides are float32 with an online softmax, but they tile differently (CPU:
// 64 x 128 tiles through cpu::gemm; GPU: 64 x 64 tiles with per-thread partial sums, and dQ
// summed by atomics in any order), so every exp, row sum and product is rounded in another
// order. Each entry carries a few ulp of relative error per term (rtol 1e-4 leaves ~1000 ulp),
// and the accumulated entries (row sums over M keys, dK and dV summed over N queries, dS =
// P (dP - D) which cancels when a row is peaked) carry an absolute error that grows like a
// random walk over the summed terms, hence atol 1e-5 * sqrt(N).
#include <cmath>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops_nn.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

struct AttnResult {
  Tensor out, dq, dk, dv;
};

// Output and gradients of <attention(q, k, v), R> on `dev`: the seed R goes straight into
// backward, so the test depends on no other op's CUDA kernel.
AttnResult run_attention(const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& r0, Device dev) {
  Tensor q = q0.to(dev).clone(), k = k0.to(dev).clone(), v = v0.to(dev).clone();
  q.set_requires_grad(true);
  k.set_requires_grad(true);
  v.set_requires_grad(true);
  Tensor out = multi_head_attention(q, k, v);
  out.backward(r0.to(dev));
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

struct Inputs {
  Tensor q, k, v, r;
};

Inputs make_inputs(int64_t B, int64_t h, int64_t N, int64_t M, int64_t d, uint64_t seed, double scale = 1.0) {
  return {cpu_randn({B, h, N, d}, seed, scale), cpu_randn({B, h, M, d}, seed + 1, scale),
          cpu_randn({B, h, M, d}, seed + 2), cpu_randn({B, h, N, d}, seed + 3)};
}

double atol_for(int64_t N) { return 1e-5 * std::sqrt(double(N)); }

void compare_with_cpu(const Inputs& in, const std::string& what) {
  const int64_t N = in.q.size(2);
  const double rtol = 1e-4, atol = atol_for(N);
  const AttnResult cpu = run_attention(in.q, in.k, in.v, in.r, kCpu);
  const AttnResult gpu = run_attention(in.q, in.k, in.v, in.r, kCuda);
  CHECK_CLOSE(gpu.out, cpu.out, rtol, atol, what + " out");
  CHECK_CLOSE(gpu.dq, cpu.dq, rtol, atol, what + " dq");
  CHECK_CLOSE(gpu.dk, cpu.dk, rtol, atol, what + " dk");
  CHECK_CLOSE(gpu.dv, cpu.dv, rtol, atol, what + " dv");
}

std::string shape_name(int64_t B, int64_t h, int64_t N, int64_t M, int64_t d) {
  return str_cat("(", B, ",", h, ",", N, ",", M, ",", d, ")");
}

// Sets deterministic mode for a scope and restores the previous setting.
struct DeterministicScope {
  bool before;
  explicit DeterministicScope(bool on) : before(deterministic()) { set_deterministic(on); }
  ~DeterministicScope() { set_deterministic(before); }
};

bool bitwise_equal(const Tensor& a, const Tensor& b) { return a.to_float_vector() == b.to_float_vector(); }

}  // namespace

TEST_CASE("attention forward and gradients match the CPU twin on odd shapes", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  DeterministicScope atomic_path(false);
  struct Case {
    int64_t B, h, N, M, d;
  };
  // Tails in N and M (17, 100, 257: partial 64-row tiles), one tile exactly (64), several
  // key tiles (online-softmax rescaling), d of every template size and padded ones (24, 40, 100).
  const std::vector<Case> cases = {{2, 3, 17, 17, 16},   {1, 2, 64, 64, 32},  {2, 4, 100, 100, 64},
                                   {1, 1, 257, 257, 128}, {2, 2, 33, 33, 24},  {1, 3, 70, 70, 40},
                                   {1, 1, 45, 45, 100},   {1, 2, 40, 130, 32}, {2, 1, 129, 5, 16}};
  uint64_t seed = 10;
  for (const Case& c : cases) {
    const std::string what = shape_name(c.B, c.h, c.N, c.M, c.d);
    compare_with_cpu(make_inputs(c.B, c.h, c.N, c.M, c.d, seed), what);
    seed += 10;
  }
}

TEST_CASE("attention with one query and one key (N = M = 1) for every head dimension", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  DeterministicScope atomic_path(false);
  uint64_t seed = 200;
  for (int64_t d : {1, 8, 16, 24, 32, 64, 128}) {
    const Inputs in = make_inputs(1, 1, 1, 1, d, seed++);
    compare_with_cpu(in, shape_name(1, 1, 1, 1, d));
    // One key: softmax is 1, so the output is v itself (exactly, up to the 1/l = 1 division).
    const Tensor out = multi_head_attention(in.q.to(kCuda), in.k.to(kCuda), in.v.to(kCuda));
    CHECK_CLOSE(out, in.v, 1e-6, 1e-7, "N = 1 gives v");
  }
  // Several queries against one key, and one query against many keys.
  compare_with_cpu(make_inputs(2, 2, 65, 1, 32, 300), "(2,2,65,1,32)");
  compare_with_cpu(make_inputs(2, 2, 1, 65, 32, 310), "(2,2,1,65,32)");
}

TEST_CASE("attention stays accurate when the softmax is peaked", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  DeterministicScope atomic_path(false);
  // q and k scaled by 2: scores of standard deviation ~4, so the running maximum moves across
  // key tiles and most rows are dominated by a few keys.
  compare_with_cpu(make_inputs(1, 2, 150, 150, 32, 400, 2.0), "peaked (1,2,150,150,32)");
}

TEST_CASE("attention on the AlterNet paper shape and on non-contiguous heads", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  DeterministicScope atomic_path(false);
  // configs/paper.json: batch 10, hid_T 256 / 8 heads (d = 32), 64x64 frames -> 16x16 latent.
  compare_with_cpu(make_inputs(10, 8, 256, 256, 32, 500), "paper (10,8,256,256,32)");
  // AlterBlock hands split_heads views (B, N, h, d).permute(0, 2, 1, 3): not contiguous.
  const Tensor base_q = cpu_randn({2, 50, 4, 16}, 510), base_k = cpu_randn({2, 50, 4, 16}, 511),
               base_v = cpu_randn({2, 50, 4, 16}, 512);
  const std::vector<int64_t> perm = {0, 2, 1, 3};
  const Tensor cpu = multi_head_attention(base_q.permute(perm), base_k.permute(perm), base_v.permute(perm));
  const Tensor gpu = multi_head_attention(base_q.to(kCuda).permute(perm), base_k.to(kCuda).permute(perm),
                                          base_v.to(kCuda).permute(perm));
  CHECK_CLOSE(gpu, cpu, 1e-4, atol_for(50), "permuted heads out");
}

TEST_CASE("attention deterministic backward is bitwise reproducible and matches the atomic one", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  for (const Inputs& in : {make_inputs(2, 4, 100, 100, 64, 600), make_inputs(1, 3, 257, 130, 24, 610),
                           make_inputs(1, 2, 200, 200, 128, 620)}) {
    const int64_t N = in.q.size(2);
    const std::string what = shape_name(in.q.size(0), in.q.size(1), N, in.k.size(2), in.q.size(3));
    AttnResult first, second, atomic;
    {
      DeterministicScope det(true);
      first = run_attention(in.q, in.k, in.v, in.r, kCuda);
      second = run_attention(in.q, in.k, in.v, in.r, kCuda);
    }
    {
      DeterministicScope det(false);
      atomic = run_attention(in.q, in.k, in.v, in.r, kCuda);
    }
    INFO(what);
    CHECK(bitwise_equal(first.out, second.out));
    CHECK(bitwise_equal(first.dq, second.dq));
    CHECK(bitwise_equal(first.dk, second.dk));
    CHECK(bitwise_equal(first.dv, second.dv));
    const AttnResult cpu = run_attention(in.q, in.k, in.v, in.r, kCpu);
    CHECK_CLOSE(first.dq, cpu.dq, 1e-4, atol_for(N), what + " deterministic dq");
    CHECK_CLOSE(first.dk, cpu.dk, 1e-4, atol_for(N), what + " deterministic dk");
    CHECK_CLOSE(first.dv, cpu.dv, 1e-4, atol_for(N), what + " deterministic dv");
    // The atomic path differs only in the order dQ's terms are summed.
    CHECK_CLOSE(atomic.dq, first.dq, 1e-4, atol_for(N), what + " atomic dq vs deterministic dq");
    CHECK_CLOSE(atomic.dk, first.dk, 1e-4, atol_for(N), what + " atomic dk vs deterministic dk");
    CHECK_CLOSE(atomic.dv, first.dv, 1e-4, atol_for(N), what + " atomic dv vs deterministic dv");
  }
}

TEST_CASE("attention on CUDA refuses what its kernels cannot take, naming the op", "[cuda][attention]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor q = cpu_randn({1, 1, 4, 129}, 700).to(kCuda);
  REQUIRE_THROWS_WITH(multi_head_attention(q, q, q), Catch::Contains("head dimensions up to 128"));
  const Tensor q64 = cpu_randn({1, 1, 4, 8}, 701).to(DType::f64).to(kCuda);
  REQUIRE_THROWS_WITH(multi_head_attention(q64, q64, q64), Catch::Contains("float32"));
  const Tensor on_cpu = cpu_randn({1, 1, 4, 8}, 702), on_gpu = on_cpu.to(kCuda);
  REQUIRE_THROWS_WITH(multi_head_attention(on_gpu, on_cpu, on_cpu), Catch::Contains("different devices"));
}
