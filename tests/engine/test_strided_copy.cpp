// contiguous() and .to(dtype) of strided views on the CPU (kernels/cpu/copy.hpp: merged dims,
// rows, short-row blocks, tiled transposes) against the element-by-element walk that
// to_double_vector() makes over the view itself: every permutation of 3- and 4-d shapes with
// dims of 1, 2, 3, 33 and 64, sliced views with steps, and dtype conversions.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

#include "sdkd/ops.hpp"
#include "sdkd/rng.hpp"
#include "sdkd/tensor.hpp"

using namespace sdkd;

namespace {

void check_view(const Tensor& view, const char* what) {
  INFO(what << " " << view.str() << " strides " << shape_str(view.strides()));
  const std::vector<double> want = view.to_double_vector();  // walks the view
  const Tensor c = view.contiguous();
  REQUIRE(c.is_contiguous());
  const std::vector<double> got = c.to_double_vector();  // reads contiguous memory
  REQUIRE(got.size() == want.size());
  CHECK(got == want);
  for (DType t : {DType::f64, DType::f32}) {
    const std::vector<double> conv = view.to(t).to_double_vector();
    size_t wrong = 0;
    for (size_t i = 0; i < want.size(); ++i) wrong += conv[i] != (t == DType::f32 ? double(float(want[i])) : want[i]);
    CHECK(wrong == 0);
  }
}

}  // namespace

TEST_CASE("contiguous copies of every permutation equal the view walked element by element", "[copy]") {
  Generator gen(17);
  for (const Shape& shape : {Shape{3, 33, 2}, Shape{2, 1, 64, 3}, Shape{33, 64, 1, 2}, Shape{3, 2, 33, 64}, Shape{64, 33}}) {
    const Tensor a = Tensor::randn(shape, gen);
    std::vector<int64_t> perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      check_view(a.permute(perm), "permute");
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("contiguous copies of sliced, stepped and transposed views", "[copy]") {
  Generator gen(3);
  const Tensor a = Tensor::randn({6, 70, 90}, gen, DType::f64);
  check_view(a.slice(2, 1, 89, 2), "every other column");
  check_view(a.slice(1, 3, 70, 3).transpose(1, 2), "stepped rows, transposed");
  check_view(a.transpose(0, 2).slice(0, 5, 80, 7), "transposed, stepped");
  check_view(a.slice(0, 1, 5).slice(1, 0, 70, 35), "two rows per plane");
  // pixel shuffle's layout: a 6-d permute whose innermost dim has 2 elements
  const Tensor b = Tensor::randn({2, 8, 2, 2, 16, 16}, gen);
  check_view(b.permute({0, 1, 4, 2, 5, 3}), "pixel shuffle");
  // an int32 view converts exactly
  std::vector<int32_t> iv(5 * 7);
  std::iota(iv.begin(), iv.end(), -10);
  check_view(Tensor::from_vector(iv, {5, 7}).transpose(0, 1), "int32 transpose");
}
