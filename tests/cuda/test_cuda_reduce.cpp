// Reductions on the GPU against their CPU twins: sum/mean over dimension sets (every kernel
// path: warp rows, chunked long rows, chunked columns, permuted non-adjacent dims), their
// gradients, determinism, and the fused losses (mse, l1, activation-boundary KD).
#include <string>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {


std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "{";
  for (auto d : dims) s += std::to_string(d) + ",";
  return s + "}";
}

// Both devices accumulate in double; only the order differs, so the float results agree to
// about one rounding: 1e-5 relative, with an absolute floor for sums that cancel to ~0.
constexpr double kSumRtol = 1e-5, kSumAtol = 1e-6;

}  // namespace

TEST_CASE("sum and mean over dimension sets match the CPU, with keepdim and gradients", "[cuda][reduce]") {
  SDKD_CUDA_OR_SKIP();
  const std::vector<std::vector<int64_t>> dim_sets = {{0}, {1}, {3}, {-1}, {0, 2, 3}, {1, 2}, {0, 3}, {0, 1, 2, 3}, {}};
  uint64_t seed = 1;
  for (const Shape& shape : {Shape{4, 3, 5, 6}, Shape{1, 7, 1, 9}}) {
    for (const auto& dims : dim_sets) {
      for (bool keepdim : {false, true}) {
        for (bool is_mean : {false, true}) {
          const std::string what = std::string(is_mean ? "mean" : "sum") + " over " + dims_str(dims) +
                                   (keepdim ? " keepdim" : "") + " of " + shape_str(shape);
          LeafPair x = leaf_pair(cpu_randn(shape, ++seed));
          const Tensor oc = is_mean ? mean(x.cpu, dims, keepdim) : sum(x.cpu, dims, keepdim);
          const Tensor og = is_mean ? mean(x.gpu, dims, keepdim) : sum(x.gpu, dims, keepdim);
          CHECK_CLOSE(og, oc, kSumRtol, kSumAtol, what);
          const Tensor g = cpu_randn(oc.shape(), ++seed);
          oc.backward(g);
          og.backward(g.to(kCuda));
          // The backward is a broadcast copy (times 1/n for mean): exact.
          CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-6, 1e-7, what + " grad");
        }
      }
    }
  }
}

TEST_CASE("sum takes every kernel path on larger shapes", "[cuda][reduce]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
    const char* path;
  };
  const std::vector<Case> cases = {
      {{100, 37}, {1}, "one warp per short row"},
      {{2, 1, 4097}, {2}, "long rows, two chunks each"},
      {{3, 70001}, {1}, "long rows, many chunks"},
      {{1, 300001}, {0, 1}, "all elements, two passes"},
      {{5000, 3}, {0}, "columns with a chunked reduced axis"},
      {{2, 1500, 7}, {1}, "columns, outer > 1"},
      {{6, 40, 50}, {0, 2}, "non-adjacent dims through a permuted copy"},
      {{0, 5}, {0}, "empty reduced axis"},
  };
  uint64_t seed = 900;
  for (const auto& c : cases) {
    const std::string what = std::string(c.path) + " " + shape_str(c.shape) + " over " + dims_str(c.dims);
    LeafPair x = leaf_pair(cpu_randn(c.shape, ++seed));
    const Tensor oc = sum(x.cpu, c.dims), og = sum(x.gpu, c.dims);
    CHECK_CLOSE(og, oc, kSumRtol, kSumAtol, what);
    if (oc.numel() == 0 || x.cpu.numel() == 0) continue;
    const Tensor g = cpu_randn(oc.shape(), ++seed);
    oc.backward(g);
    og.backward(g.to(kCuda));
    CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-6, 1e-7, what + " grad");
  }
  // The mean of everything and sum() without dims.
  const Tensor x = cpu_randn({3, 1001, 7}, 77);
  CHECK_CLOSE(mean(x.to(kCuda)), mean(x), kSumRtol, kSumAtol, "mean of all");
  CHECK_CLOSE(sum(x.to(kCuda)), sum(x), kSumRtol, kSumAtol, "sum of all");
}

TEST_CASE("reductions are bitwise deterministic run to run", "[cuda][reduce]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor x = cpu_randn({1 << 20}, 5).to(kCuda);
  const Tensor y = cpu_randn({64, 4096}, 6).to(kCuda);
  const Tensor z = cpu_randn({4096, 64}, 7).to(kCuda);
  const Tensor half = y * 0.5;
  for (int rep = 0; rep < 3; ++rep) {
    REQUIRE(sum(x).item() == sum(x).item());
    REQUIRE(sum(y, {1}).to_float_vector() == sum(y, {1}).to_float_vector());
    REQUIRE(sum(z, {0}).to_float_vector() == sum(z, {0}).to_float_vector());
    REQUIRE(mse_loss(y, half).item() == mse_loss(y, half).item());
    REQUIRE(l1_loss(y, half).item() == l1_loss(y, half).item());
  }
}

TEST_CASE("mse and l1 losses match the CPU in value and both gradients", "[cuda][reduce]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 300;
  for (const Shape& shape : {Shape{2, 3, 17, 5}, Shape{1, 100003}, Shape{1}}) {
    for (bool is_mse : {true, false}) {
      const std::string what = std::string(is_mse ? "mse" : "l1") + " " + shape_str(shape);
      LeafPair p = leaf_pair(cpu_randn(shape, ++seed)), t = leaf_pair(cpu_randn(shape, ++seed));
      const Tensor lc = is_mse ? mse_loss(p.cpu, t.cpu) : l1_loss(p.cpu, t.cpu);
      const Tensor lg = is_mse ? mse_loss(p.gpu, t.gpu) : l1_loss(p.gpu, t.gpu);
      // Double partial sums in a different order: the float means agree to ~1 rounding.
      CHECK_CLOSE(lg, lc, kSumRtol, 0, what + " value");
      (lc * 1.7).backward();
      (lg * 1.7).backward();
      // The gradient kernel evaluates the CPU twin's double expression: bitwise equal in practice.
      CHECK_CLOSE(p.gpu.grad(), p.cpu.grad(), 1e-6, 1e-12, what + " grad pred");
      CHECK_CLOSE(t.gpu.grad(), t.cpu.grad(), 1e-6, 1e-12, what + " grad target");
    }
  }
}

TEST_CASE("activation-boundary KD loss matches the CPU in value and gradient", "[cuda][reduce][distill]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 700;
  for (const Shape& shape : {Shape{2, 4, 9, 7}, Shape{1, 3, 5, 5}, Shape{1, 1, 1, 70001}}) {
    for (double margin : {1.0, 0.25, 0.0}) {
      const std::string what = "ab_loss " + shape_str(shape) + " margin " + std::to_string(margin);
      LeafPair s = leaf_pair(cpu_randn(shape, ++seed));
      const Tensor teacher = cpu_randn(shape, ++seed);
      // The teacher is read through a transposed view on both devices (made contiguous inside).
      const Tensor lc = ab_loss(s.cpu, teacher.transpose(2, 3).contiguous().transpose(2, 3), margin);
      const Tensor lg =
          ab_loss(s.gpu, teacher.to(kCuda).transpose(2, 3).contiguous().transpose(2, 3), margin);
      // CPU: one sequential double sum; GPU: per-block double sums added in order.
      CHECK_CLOSE(lg, lc, kSumRtol, 1e-12, what + " value");
      (lc * 0.5).backward();
      (lg * 0.5).backward();
      CHECK_CLOSE(s.gpu.grad(), s.cpu.grad(), 1e-6, 1e-12, what + " grad");
    }
  }
}
