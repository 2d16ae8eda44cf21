// int32 tensors: the index/table dtype. Created, viewed, copied, converted, saved and loaded
// like float tensors; refused with one clear error by the arithmetic ops and by autograd.
#include <catch2/catch.hpp>

#include <limits>

#include "common/toy.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/tensor.hpp"

using namespace sdkd;
using Catch::Matchers::Contains;

TEST_CASE("int32 tensors hold exact integers through views, copies and conversions", "[int32]") {
  const int32_t big = std::numeric_limits<int32_t>::max();
  const std::vector<int32_t> v = {0, -1, 7, big, std::numeric_limits<int32_t>::min(), 42};
  const Tensor t = Tensor::from_vector(v, {2, 3});
  CHECK(t.dtype() == DType::i32);
  CHECK(dtype_size(DType::i32) == 4);
  CHECK(t.str() == "int32[2, 3]");
  const int32_t* p = t.data<int32_t>();
  for (size_t i = 0; i < v.size(); ++i) CHECK(p[i] == v[i]);
  CHECK_THROWS_AS(t.data<float>(), Error);

  // A transposed view made contiguous reads the elements in the view's order.
  const Tensor tt = t.transpose(0, 1).contiguous();
  const std::vector<int32_t> want_t = {0, big, -1, std::numeric_limits<int32_t>::min(), 7, 42};
  for (size_t i = 0; i < want_t.size(); ++i) CHECK(tt.data<int32_t>()[i] == want_t[i]);

  // Conversions go through double, so every int32 survives a round trip through float64.
  const Tensor d = t.to(DType::f64);
  for (size_t i = 0; i < v.size(); ++i) CHECK(d.data<double>()[i] == double(v[i]));
  const Tensor back = d.to(DType::i32);
  for (size_t i = 0; i < v.size(); ++i) CHECK(back.data<int32_t>()[i] == v[i]);
  CHECK(Tensor::from_vector(std::vector<double>{2.75, -3.5}, {2}).to(DType::i32).to_double_vector() ==
        std::vector<double>{2.0, -3.0});  // truncation toward zero, as a C++ cast
  CHECK(t.select(0, 1).select(0, 2).item() == 42.0);

  Tensor f = Tensor::full({3}, 5.0, DType::i32);
  CHECK(f.to_double_vector() == std::vector<double>{5, 5, 5});
  f.copy_(Tensor::from_vector(std::vector<float>{1.f, 2.f, 3.f}, {3}));
  CHECK(f.to_double_vector() == std::vector<double>{1, 2, 3});
}

TEST_CASE("int32 tensors are refused by arithmetic ops and autograd, naming the dtype", "[int32]") {
  const Tensor t = Tensor::from_vector(std::vector<int32_t>{1, 2, 3}, {3});
  CHECK_THROWS_WITH(add(t, t), Contains("int32"));
  CHECK_THROWS_WITH(sum(t), Contains("int32"));
  Tensor leaf = Tensor::from_vector(std::vector<int32_t>{1}, {1});
  CHECK_THROWS_WITH(leaf.set_requires_grad(true), Contains("int32[1] has no gradient"));
}

TEST_CASE("int32 tensors round-trip through a checkpoint as safetensors I32", "[int32]") {
  const test::TempDir dir("i32");
  const std::string path = dir / "bands.safetensors";
  const std::vector<int32_t> v = {3, -9, 1 << 30};
  save_tensors(path, {{"bands", Tensor::from_vector(v, {3})}, {"w", Tensor::ones({2})}});
  const TensorMap loaded = load_tensors(path);
  const Tensor& b = loaded.at("bands");
  REQUIRE(b.dtype() == DType::i32);
  for (size_t i = 0; i < v.size(); ++i) CHECK(b.data<int32_t>()[i] == v[i]);
  CHECK(loaded.at("w").dtype() == DType::f32);
}
