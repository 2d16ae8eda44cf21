// Resampling and joining on the GPU against their CPU twins: bilinear upsampling forward and
// backward (also against a float64 CPU reference, which the GPU's double-accumulating gather
// should meet to float rounding), pixel_shuffle, cat and stack along every dim, and the
// backward of slicing (a scatter into a zero gradient).
#include <string>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {


}  // namespace

TEST_CASE("upsample_bilinear2d matches the CPU forward and backward", "[cuda][resample]") {
  SDKD_CUDA_OR_SKIP();
  struct Case {
    Shape in;
    int64_t oh, ow;
  };
  const std::vector<Case> cases = {
      {{1, 3, 5, 7}, 11, 13},  // odd, non-integer scale up
      {{2, 3, 6, 6}, 12, 12},  // exact 2x
      {{2, 2, 9, 8}, 4, 3},    // down
      {{1, 1, 1, 1}, 3, 5},    // one pixel to many
      {{1, 2, 5, 5}, 5, 5},    // identity size
      {{1, 2, 4, 9}, 13, 2},   // up in one axis, down in the other
  };
  uint64_t seed = 40;
  for (const auto& c : cases) {
    const std::string what = shape_str(c.in) + " -> " + std::to_string(c.oh) + "x" + std::to_string(c.ow);
    const Tensor host = cpu_randn(c.in, ++seed);
    LeafPair x = leaf_pair(host);
    const Tensor yc = upsample_bilinear2d(x.cpu, c.oh, c.ow), yg = upsample_bilinear2d(x.gpu, c.oh, c.ow);
    // Same taps and the same double expression: equal up to the final float rounding.
    CHECK_CLOSE(yg, yc, 1e-6, 1e-7, what + " forward");
    const Tensor g = cpu_randn(yc.shape(), ++seed);
    yc.backward(g);
    yg.backward(g.to(kCuda));
    // The CPU twin scatters in float (rounding grows with the taps per input pixel, up to 15
    // here); the GPU gathers in double.
    CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-5, 1e-5, what + " grad vs CPU float32");
    // Against the float64 CPU adjoint on the same numbers the GPU is exact to float rounding.
    Tensor x64 = host.detach().to(DType::f64);
    x64.set_requires_grad(true);
    upsample_bilinear2d(x64, c.oh, c.ow).backward(g.to(DType::f64));
    CHECK_CLOSE(x.gpu.grad(), x64.grad().to(DType::f32), 1e-6, 1e-7, what + " grad vs CPU float64");
  }
  // A non-contiguous input is made contiguous first on both devices.
  LeafPair x = leaf_pair(cpu_randn({2, 3, 7, 6}, 99));
  const Tensor yc = upsample_bilinear2d(x.cpu.transpose(2, 3), 9, 10);
  const Tensor yg = upsample_bilinear2d(x.gpu.transpose(2, 3), 9, 10);
  CHECK_CLOSE(yg, yc, 1e-6, 1e-7, "transposed input forward");
  const Tensor g = cpu_randn(yc.shape(), 100);
  yc.backward(g);
  yg.backward(g.to(kCuda));
  CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-5, 1e-5, "transposed input grad");
}

TEST_CASE("pixel_shuffle matches the CPU, forward and gradient", "[cuda][resample]") {
  SDKD_CUDA_OR_SKIP();
  for (auto [shape, r] : std::vector<std::pair<Shape, int>>{{{1, 8, 3, 5}, 2}, {{2, 9, 2, 3}, 3}, {{1, 4, 1, 1}, 2}}) {
    LeafPair x = leaf_pair(cpu_randn(shape, uint64_t(r) * 10));
    const Tensor yc = pixel_shuffle(x.cpu, r), yg = pixel_shuffle(x.gpu, r);
    // A pure permutation of the elements: bitwise equal.
    REQUIRE(yg.shape() == yc.shape());
    REQUIRE(yg.to_float_vector() == yc.to_float_vector());
    const Tensor g = cpu_randn(yc.shape(), 5);
    yc.backward(g);
    yg.backward(g.to(kCuda));
    REQUIRE(x.gpu.grad().to_float_vector() == x.cpu.grad().to_float_vector());
  }
}

TEST_CASE("cat and stack along every dim match the CPU, with gradients", "[cuda][joining]") {
  SDKD_CUDA_OR_SKIP();
  const Shape base{2, 3, 4};
  uint64_t seed = 200;
  for (int64_t dim = -1; dim < 3; ++dim) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    std::vector<LeafPair> parts;
    for (int64_t k : {1, 2, 3}) {
      Shape s = base;
      s[size_t(d)] = k;
      parts.push_back(leaf_pair(cpu_randn(s, ++seed)));
    }
    // The last input is a transposed view on both devices (cat reads it through its strides).
    LeafPair t = leaf_pair(cpu_randn({base[2], base[1], base[0]}, ++seed));
    std::vector<Tensor> xc, xg;
    for (auto& p : parts) {
      xc.push_back(p.cpu);
      xg.push_back(p.gpu);
    }
    xc.push_back(t.cpu.permute({2, 1, 0}));
    xg.push_back(t.gpu.permute({2, 1, 0}));
    const std::string what = "cat along dim " + std::to_string(dim);
    const Tensor yc = cat(xc, dim), yg = cat(xg, dim);
    REQUIRE(yg.shape() == yc.shape());
    REQUIRE(yg.to_float_vector() == yc.to_float_vector());  // a copy: bitwise equal
    const Tensor g = cpu_randn(yc.shape(), ++seed);
    yc.backward(g);
    yg.backward(g.to(kCuda));
    for (size_t i = 0; i < parts.size(); ++i) {
      INFO(what << " input " << i);
      REQUIRE(parts[i].gpu.grad().to_float_vector() == parts[i].cpu.grad().to_float_vector());
    }
    REQUIRE(t.gpu.grad().to_float_vector() == t.cpu.grad().to_float_vector());
  }
  for (int64_t dim = 0; dim <= 3; ++dim) {
    std::vector<LeafPair> parts;
    for (int i = 0; i < 3; ++i) parts.push_back(leaf_pair(cpu_randn(base, ++seed)));
    std::vector<Tensor> xc, xg;
    for (auto& p : parts) {
      xc.push_back(p.cpu);
      xg.push_back(p.gpu);
    }
    INFO("stack along dim " << dim);
    const Tensor yc = stack(xc, dim), yg = stack(xg, dim);
    REQUIRE(yg.shape() == yc.shape());
    REQUIRE(yg.to_float_vector() == yc.to_float_vector());
    const Tensor g = cpu_randn(yc.shape(), ++seed);
    yc.backward(g);
    yg.backward(g.to(kCuda));
    for (auto& p : parts) REQUIRE(p.gpu.grad().to_float_vector() == p.cpu.grad().to_float_vector());
  }
  // Batch 1 and a single input.
  LeafPair one = leaf_pair(cpu_randn({1, 5}, 1));
  REQUIRE(cat({one.gpu}, 0).to_float_vector() == cat({one.cpu}, 0).to_float_vector());
}

TEST_CASE("slice and select backward scatter into a zero gradient on the GPU", "[cuda][joining]") {
  SDKD_CUDA_OR_SKIP();
  LeafPair x = leaf_pair(cpu_randn({5, 7, 3}, 12));
  const Tensor yc = add(x.cpu.slice(1, 1, 6, 2), x.cpu.select(1, 4).unsqueeze(1));
  const Tensor yg = add(x.gpu.slice(1, 1, 6, 2), x.gpu.select(1, 4).unsqueeze(1));
  REQUIRE(yg.to_float_vector() == yc.to_float_vector());
  const Tensor g = cpu_randn(yc.shape(), 13);
  yc.backward(g);
  yg.backward(g.to(kCuda));
  // Each input element gets at most a few float additions, in the same order on both devices.
  CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), 1e-6, 1e-7, "slice + select grad");
}
