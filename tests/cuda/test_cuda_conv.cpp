// conv2d and conv_transpose2d on the GPU (implicit GEMM, depthwise kernels) against the CPU
// twin: forward, input, weight and bias gradients on strided, dilated, grouped, depthwise,
// 1x1, odd-sized and batch-1 shapes; the adjoint identity <conv(x), y> = <x, convT(y)> on the
// GPU; and bitwise-reproducible weight gradients in deterministic mode.
//
// Tolerance. x, w and the output gradient are N(0, 1), so every product summed is O(1)
// (scale = 1) and a result sums at most K of them: K = max(C_in, C_out)/groups * kH * kW for
// the forward and the input gradient, K = N * (largest plane) for the weight and bias
// gradients. Each side rounds a K-term fp32 sum in its own order, with an error of about
// u*K/sqrt(6) (u = 2^-24) per side, about 2.4e-8*K; the bound
//     atol = 1e-5 * sqrt(K) * scale,  rtol = 1e-4
// is at least 4x that for every K used here (K <= 2304 forward, <= 16384 reductions).
#include <cmath>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

struct ConvCase {
  const char* what;
  bool transposed;
  Shape x;        // (N, C_in, H, W) of the op's input
  int64_t c_out;  // the op's output channels
  int64_t kh, kw;
  Conv2dOptions o;
  bool bias;
};

Conv2dOptions opt(int stride, int pad, int dil = 1, int groups = 1, int out_pad = 0) {
  return Conv2dOptions::make(stride, pad, dil, groups, out_pad);
}

Shape weight_shape(const ConvCase& c) {
  const int64_t g = c.o.groups;
  return c.transposed ? Shape{c.x[1], c.c_out / g, c.kh, c.kw} : Shape{c.c_out, c.x[1] / g, c.kh, c.kw};
}

Tensor apply(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return c.transposed ? conv_transpose2d(x, w, b, c.o) : conv2d(x, w, b, c.o);
}

// A leaf copy of `t` on `device` that records its gradient (undefined stays undefined).
Tensor leaf_on(const Tensor& t, Device device) {
  if (!t.defined()) return Tensor();
  Tensor l = device == kCpu ? t.clone() : t.to(device);
  l.set_requires_grad(true);
  return l;
}

double atol_for(double K) { return 1e-5 * std::sqrt(K); }

// Runs the case on both devices and compares the output and all three gradients.
void compare_with_cpu(const ConvCase& c, uint64_t seed) {
  INFO(c.what << (c.transposed ? " (conv_transpose2d)" : " (conv2d)") << " x " << shape_str(c.x));
  const Tensor x0 = cpu_randn(c.x, seed), w0 = cpu_randn(weight_shape(c), seed + 1);
  const Tensor b0 = c.bias ? cpu_randn({c.c_out}, seed + 2) : Tensor();
  const Tensor xc = leaf_on(x0, kCpu), wc = leaf_on(w0, kCpu), bc = leaf_on(b0, kCpu);
  const Tensor xg = leaf_on(x0, kCuda), wg = leaf_on(w0, kCuda), bg = leaf_on(b0, kCuda);
  const Tensor yc = apply(c, xc, wc, bc), yg = apply(c, xg, wg, bg);
  const Tensor gy = cpu_randn(yc.shape(), seed + 3);
  yc.backward(gy);
  yg.backward(gy.to(kCuda));

  const int64_t g = c.o.groups, taps = c.kh * c.kw;
  const double K_sum = double(std::max(c.x[1], c.c_out) / g * taps);
  const double K_red = double(c.x[0] * std::max(c.x[2] * c.x[3], yc.size(2) * yc.size(3)));
  CHECK_CLOSE(yg, yc, 1e-4, atol_for(K_sum) + 1e-5, "forward");
  CHECK_CLOSE(xg.grad(), xc.grad(), 1e-4, atol_for(K_sum), "input gradient");
  CHECK_CLOSE(wg.grad(), wc.grad(), 1e-4, atol_for(K_red), "weight gradient");
  if (c.bias) CHECK_CLOSE(bg.grad(), bc.grad(), 1e-4, atol_for(K_red), "bias gradient");
}

void compare_all(const std::vector<ConvCase>& cases, uint64_t seed) {
  for (const ConvCase& c : cases) compare_with_cpu(c, seed += 10);
}

struct DeterministicScope {
  bool previous;
  explicit DeterministicScope(bool on) : previous(deterministic()) { set_deterministic(on); }
  ~DeterministicScope() { set_deterministic(previous); }
};

}  // namespace

TEST_CASE("conv2d on the GPU matches the CPU: forward and gradients", "[cuda][conv]") {
  SDKD_CUDA_OR_SKIP();
  compare_all({
                  {"3x3 pad 1 stride 1", false, {2, 5, 9, 7}, 6, 3, 3, opt(1, 1), true},
                  {"3x3 stride 2", false, {2, 4, 9, 11}, 6, 3, 3, opt(2, 1), false},
                  {"3x3 stride 3 pad 0", false, {1, 3, 10, 10}, 2, 3, 3, opt(3, 0), true},
                  {"dilation 2", false, {2, 3, 9, 8}, 5, 3, 3, opt(1, 2, 2), true},
                  {"stride 2 dilation 2", false, {1, 4, 9, 8}, 4, 3, 3, opt(2, 2, 2), false},
                  {"1x1", false, {3, 7, 6, 5}, 9, 1, 1, opt(1, 0), true},
                  {"4x4 stride 2 pad 1", false, {2, 3, 8, 8}, 4, 4, 4, opt(2, 1), true},
                  {"odd 7x9, batch 1", false, {1, 3, 7, 9}, 5, 3, 3, opt(1, 1), false},
                  {"1x1 image, 1x1 kernel", false, {2, 3, 1, 1}, 4, 1, 1, opt(1, 0), true},
                  {"1x1 image, 3x3 pad 1", false, {2, 3, 1, 1}, 4, 3, 3, opt(1, 1), true},
                  {"1x1 image, stride 2", false, {1, 3, 1, 1}, 2, 3, 3, opt(2, 1), false},
                  {"C_in = 1", false, {3, 1, 9, 7}, 8, 3, 3, opt(1, 1), true},
                  {"C_out = 1", false, {2, 5, 7, 9}, 1, 3, 3, opt(1, 1), true},
                  {"padding 3 > kernel", false, {1, 4, 3, 5}, 3, 3, 3, opt(1, 3), false},
                  {"16 channels", false, {2, 8, 12, 12}, 16, 3, 3, opt(1, 1), true},
                  {"70 channels (two column tiles)", false, {2, 40, 10, 12}, 70, 3, 3, opt(1, 1), true},
                  {"32 -> 64 channels", false, {4, 32, 16, 16}, 64, 3, 3, opt(1, 1), true},
                  {"benchmark shape 16x64x32x32", false, {16, 64, 32, 32}, 64, 3, 3, opt(1, 1), true},
              },
              100);
  // Anisotropic stride, padding, dilation and kernel.
  Conv2dOptions o = opt(1, 1);
  o.stride_w = 2, o.pad_w = 0, o.dil_h = 2;
  compare_with_cpu({"anisotropic", false, {1, 3, 7, 6}, 4, 3, 2, o, true}, 900);
}

TEST_CASE("conv_transpose2d on the GPU matches the CPU: forward and gradients", "[cuda][conv]") {
  SDKD_CUDA_OR_SKIP();
  compare_all({
                  {"4x4 stride 2 pad 1 (the decoder's upsampler)", true, {2, 8, 5, 7}, 4, 4, 4, opt(2, 1), true},
                  {"4x4 stride 2 pad 1, output_padding 1", true, {2, 6, 4, 5}, 3, 4, 4, opt(2, 1, 1, 1, 1), true},
                  {"3x3 stride 1 pad 1", true, {1, 5, 7, 9}, 6, 3, 3, opt(1, 1), false},
                  {"3x3 stride 2 pad 1, output_padding 1", true, {2, 4, 5, 6}, 5, 3, 3, opt(2, 1, 1, 1, 1), true},
                  {"dilation 2", true, {1, 3, 6, 5}, 4, 3, 3, opt(1, 2, 2), true},
                  {"1x1", true, {2, 6, 5, 7}, 3, 1, 1, opt(1, 0), true},
                  {"1x1 image input", true, {2, 3, 1, 1}, 4, 4, 4, opt(2, 1), true},
                  {"C_in = 1", true, {2, 1, 6, 5}, 7, 4, 4, opt(2, 1), true},
                  {"C_out = 1", true, {2, 7, 6, 5}, 1, 3, 3, opt(2, 1, 1, 1, 1), true},
                  {"odd 7x9, batch 1", true, {1, 4, 7, 9}, 3, 3, 3, opt(1, 1), true},
                  {"64 -> 32 channels upsampler", true, {4, 64, 8, 8}, 32, 4, 4, opt(2, 1), true},
              },
              200);
}

TEST_CASE("grouped and depthwise convolutions on the GPU match the CPU", "[cuda][conv]") {
  SDKD_CUDA_OR_SKIP();
  compare_all({
                  {"groups 2", false, {2, 8, 7, 9}, 6, 3, 3, opt(1, 1, 1, 2), true},
                  {"groups 4, stride 2", false, {2, 8, 7, 9}, 12, 3, 3, opt(2, 1, 1, 4), false},
                  {"groups 4, 1x1", false, {1, 8, 5, 5}, 8, 1, 1, opt(1, 0, 1, 4), true},
                  {"depthwise 3x3", false, {2, 6, 7, 9}, 6, 3, 3, opt(1, 1, 1, 6), true},
                  {"depthwise 5x5 stride 2", false, {2, 6, 7, 9}, 6, 5, 5, opt(2, 2, 1, 6), true},
                  {"depthwise 7x7 dilation 3 (large-kernel attention)", false, {2, 4, 13, 11}, 4, 7, 7,
                   opt(1, 9, 3, 4), false},
                  {"depthwise, channel multiplier 2", false, {1, 4, 9, 9}, 8, 3, 3, opt(1, 2, 2, 4), true},
                  {"depthwise 64 channels", false, {4, 64, 16, 16}, 64, 3, 3, opt(1, 1, 1, 64), true},
                  {"transposed, groups 2, stride 2", true, {2, 4, 5, 6}, 6, 3, 3, opt(2, 1, 1, 2, 1), true},
                  {"transposed, groups 4", true, {1, 8, 6, 7}, 4, 4, 4, opt(2, 1, 1, 4), false},
                  {"transposed depthwise, stride 2", true, {2, 6, 5, 7}, 6, 3, 3, opt(2, 1, 1, 6, 1), true},
              },
              300);
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d on the GPU", "[cuda][conv]") {
  SDKD_CUDA_OR_SKIP();
  struct Geo {
    Shape x;
    int64_t c_out, k;
    int stride, pad, dil, groups;
  };
  uint64_t seed = 400;
  for (const Geo& geo : {Geo{{2, 5, 9, 7}, 6, 3, 1, 1, 1, 1}, Geo{{2, 4, 9, 11}, 6, 3, 2, 1, 1, 1},
                         Geo{{1, 6, 10, 9}, 4, 4, 2, 1, 1, 2}, Geo{{2, 3, 9, 8}, 5, 3, 1, 2, 2, 1},
                         Geo{{2, 6, 7, 9}, 6, 3, 2, 1, 1, 6}, Geo{{3, 32, 12, 12}, 48, 3, 1, 1, 1, 1}}) {
    INFO("x " << shape_str(geo.x) << " C_out " << geo.c_out << " k " << geo.k << " stride " << geo.stride);
    // output_padding that makes convT's output the size of conv's input, per axis.
    const Conv2dOptions o = opt(geo.stride, geo.pad, geo.dil, geo.groups);
    Conv2dOptions ot = o;
    ot.out_pad_h = int((geo.x[2] + 2 * geo.pad - geo.dil * (geo.k - 1) - 1) % geo.stride);
    ot.out_pad_w = int((geo.x[3] + 2 * geo.pad - geo.dil * (geo.k - 1) - 1) % geo.stride);
    const Tensor x = cpu_randn(geo.x, seed++), w = cpu_randn({geo.c_out, geo.x[1] / geo.groups, geo.k, geo.k}, seed++);
    const Tensor wg = w.to(kCuda);
    const Tensor cx = conv2d(x.to(kCuda), wg, Tensor(), o);
    const Tensor y = cpu_randn(cx.shape(), seed++);
    const Tensor ty = conv_transpose2d(y.to(kCuda), wg, Tensor(), ot);
    REQUIRE(ty.shape() == x.shape());
    const std::vector<double> cxv = cx.to_double_vector(), yv = y.to_double_vector();
    const std::vector<double> xv = x.to_double_vector(), tyv = ty.to_double_vector();
    double a = 0, b = 0, scale = 0;
    for (size_t i = 0; i < cxv.size(); ++i) a += cxv[i] * yv[i], scale += std::fabs(cxv[i] * yv[i]);
    for (size_t i = 0; i < xv.size(); ++i) b += xv[i] * tyv[i];
    // rtol 1e-4 on the inner products; the 1e-6 * sum|terms| floor only matters if a draw
    // happened to make them cancel to nearly zero.
    const double bound = 1e-4 * std::max(std::fabs(a), std::fabs(b)) + 1e-6 * scale;
    INFO("<conv(x), y> = " << a << ", <x, convT(y)> = " << b << ", bound " << bound);
    CHECK(std::fabs(a - b) <= bound);
  }
}

TEST_CASE("conv weight gradients on the GPU are bitwise reproducible in deterministic mode", "[cuda][conv]") {
  SDKD_CUDA_OR_SKIP();
  const DeterministicScope scope(true);  // restores the previous setting, also on failure
  uint64_t seed = 500;
  for (const ConvCase& c : std::vector<ConvCase>{
           {"split reduction, 24 channels", false, {4, 16, 20, 20}, 24, 3, 3, opt(1, 1), true},
           {"split reduction, 64 channels", false, {8, 64, 16, 16}, 64, 3, 3, opt(1, 1), true},
           {"transposed upsampler", true, {8, 32, 16, 16}, 16, 4, 4, opt(2, 1), true},
           {"depthwise", false, {8, 32, 24, 24}, 32, 3, 3, opt(1, 1, 1, 32), true}}) {
    INFO(c.what);
    const Tensor x0 = cpu_randn(c.x, seed++), w0 = cpu_randn(weight_shape(c), seed++);
    const Tensor b0 = cpu_randn({c.c_out}, seed++);
    std::vector<std::vector<float>> dw, db;
    Tensor gy;
    for (int run = 0; run < 2; ++run) {
      const Tensor x = x0.to(kCuda), w = leaf_on(w0, kCuda), b = leaf_on(b0, kCuda);
      const Tensor y = apply(c, x, w, b);
      if (!gy.defined()) gy = cpu_randn(y.shape(), seed++).to(kCuda);
      y.backward(gy);
      dw.push_back(w.grad().to_float_vector());
      db.push_back(b.grad().to_float_vector());
    }
    CHECK(dw[0] == dw[1]);
    CHECK(db[0] == db[1]);
    // And the deterministic path is also the right answer.
    const Tensor w = leaf_on(w0, kCpu), b = leaf_on(b0, kCpu);
    apply(c, x0, w, b).backward(gy.to(kCpu));
    const double K_red = double(c.x[0] * c.x[2] * c.x[3] * (c.transposed ? 4 : 1));
    Tensor dw_gpu = Tensor::from_vector(dw[0], w0.shape()).to(kCuda);
    CHECK_CLOSE(dw_gpu, w.grad(), 1e-4, atol_for(K_red), "deterministic weight gradient");
  }
}
