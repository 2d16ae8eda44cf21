// pixel_shuffle and upsample_bilinear2d against hand-computed cases, index formulas and
// finite differences.
#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "sdkd/ops_nn.hpp"

using namespace sdkd;
using sdkd::test::gradcheck;
using sdkd::test::randn64;

namespace {

void check_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  const auto g = got.to_double_vector();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(g[i] == Approx(want[i]).margin(tol));
  }
}

Tensor iota(const Shape& shape) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  return Tensor::from_vector(v, shape);
}

}  // namespace

TEST_CASE("pixel_shuffle follows PyTorch's channel order", "[ops][resample]") {
  // Four channels of one pixel become one 2x2 block, row-major.
  check_values(pixel_shuffle(Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 4, 1, 1}), 2), {1, 2, 3, 4});
  // out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w] on a larger case.
  const int r = 3;
  const Tensor x = iota({2, 2 * r * r, 2, 3});
  const Tensor y = pixel_shuffle(x, r);
  REQUIRE(y.shape() == Shape{2, 2, 2 * r, 3 * r});
  const auto xv = x.to_double_vector(), yv = y.to_double_vector();
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int oh = 0; oh < 2 * r; ++oh)
        for (int ow = 0; ow < 3 * r; ++ow) {
          const int h = oh / r, i = oh % r, w = ow / r, j = ow % r;
          const int ch = c * r * r + i * r + j;
          REQUIRE(yv[size_t(((n * 2 + c) * 2 * r + oh) * 3 * r + ow)] ==
                  xv[size_t(((n * 2 * r * r + ch) * 2 + h) * 3 + w)]);
        }
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pixel_shuffle(in[0], 2); }, {randn64({1, 8, 2, 3}, 1)}).passed());
  CHECK_THROWS_WITH(pixel_shuffle(iota({1, 6, 2, 2}), 2), Catch::Contains("not divisible by r*r"));
}

TEST_CASE("upsample_bilinear2d matches hand-computed align_corners=false cases", "[ops][resample]") {
  // 2x2 -> 4x4 (PyTorch gives exactly these numbers).
  check_values(upsample_bilinear2d(Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2}), 4, 4),
               {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0});
  // A non-integer ratio 3 -> 5: sources 0, 0.4, 1.0, 1.6, 2.2 (clamped to the last pixel).
  check_values(upsample_bilinear2d(Tensor::from_vector(std::vector<double>{0, 10, 20}, {1, 1, 1, 3}), 1, 5),
               {0, 4, 10, 16, 20});
  // Downsampling 5 -> 2: sources 0.75 and 3.25.
  check_values(upsample_bilinear2d(iota({1, 1, 1, 5}), 1, 2), {0.75, 3.25});
  // Same size is the identity; float32 agrees with float64.
  const Tensor x = randn64({2, 3, 4, 5}, 2);
  check_values(upsample_bilinear2d(x, 4, 5), x.to_double_vector(), 0.0);
  check_values(upsample_bilinear2d(x.to(DType::f32), 7, 3), upsample_bilinear2d(x, 7, 3).to_double_vector(), 1e-6);
  CHECK_THROWS_WITH(upsample_bilinear2d(x, 0, 3), Catch::Contains("upsample_bilinear2d"));
}

TEST_CASE("upsample_bilinear2d has correct gradients", "[autograd][resample]") {
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return upsample_bilinear2d(in[0], 5, 7); }, {randn64({1, 2, 3, 4}, 3)}).passed());
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return upsample_bilinear2d(in[0], 2, 3); }, {randn64({2, 1, 4, 5}, 4)}).passed());
  // A non-contiguous input.
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return upsample_bilinear2d(in[0].transpose(2, 3), 6, 6); },
            {randn64({1, 1, 3, 2}, 5)}).passed());
}
