// sum / mean over any set of dims on the CPU (kernels/cpu/reduce.hpp, engine/src/ops_reduce.cpp)
// against a naive double loop over every element: the layouts summed in place ([reduced]
// [kept][reduced][kept], with size-1 dims anywhere), the ones permuted first, sizes past the
// kernel's row and column blocks, and the same bits on 1 and 2 threads.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sdkd/ops.hpp"
#include "sdkd/rng.hpp"
#include "sdkd/tensor.hpp"

using namespace sdkd;

namespace {

// The sums over `dims` of `a` (contiguous, row-major) by walking every element once.
std::vector<double> naive_sum(const std::vector<double>& a, const Shape& shape, const std::vector<int64_t>& dims,
                              std::vector<double>* abs_sum) {
  std::vector<bool> red(shape.size(), false);
  for (int64_t d : dims) red[size_t(d)] = true;
  int64_t outs = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!red[d]) outs *= shape[d];
  std::vector<double> out(size_t(outs), 0.0);
  abs_sum->assign(size_t(outs), 0.0);
  std::vector<int64_t> idx(shape.size(), 0);
  for (size_t e = 0; e < a.size(); ++e) {
    int64_t o = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!red[d]) o = o * shape[d] + idx[d];
    out[size_t(o)] += a[e];
    (*abs_sum)[size_t(o)] += std::abs(a[e]);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < shape[size_t(d)]) break;
      idx[size_t(d)] = 0;
    }
  }
  return out;
}

void check_sum(const Shape& shape, const std::vector<int64_t>& dims, DType dtype) {
  std::string dims_text;
  for (int64_t d : dims) dims_text.append(1, ' ').append(std::to_string(d));
  INFO("shape " << shape_str(shape) << " dims" << dims_text << (dtype == DType::f32 ? " float" : " double"));
  Generator gen(int64_t(shape.size()) * 131 + int64_t(dims.size()));
  const Tensor a = Tensor::randn(shape, gen, dtype);
  const std::vector<double> av = a.to_double_vector();
  std::vector<double> abs_sum;
  const std::vector<double> ref = naive_sum(av, shape, dims, &abs_sum);
  const Tensor s = sum(a, dims, false);
  const std::vector<double> got = s.to_double_vector();
  REQUIRE(got.size() == ref.size());
  const double eps = dtype == DType::f32 ? 6e-8 : 2e-16;  // the result is rounded once to the type
  for (size_t i = 0; i < ref.size(); ++i)
    CHECK(std::abs(got[i] - ref[i]) <= eps * std::abs(ref[i]) + 1e-15 * abs_sum[i] + 1e-300);
  // mean and keepdim take the same path.
  int64_t count = 1;
  for (int64_t d : dims) count *= shape[size_t(d)];
  const std::vector<double> m = mean(a, dims, true).to_double_vector();
  for (size_t i = 0; i < ref.size(); ++i)
    CHECK(std::abs(m[i] - ref[i] / double(count)) <= (eps * std::abs(ref[i]) + 1e-15 * abs_sum[i]) / double(count) + 1e-300);
}

std::vector<std::vector<int64_t>> subsets(int64_t n) {
  std::vector<std::vector<int64_t>> all;
  for (int64_t mask = 1; mask < (int64_t(1) << n); ++mask) {
    std::vector<int64_t> d;
    for (int64_t i = 0; i < n; ++i)
      if (mask >> i & 1) d.push_back(i);
    all.push_back(d);
  }
  return all;
}

}  // namespace

TEST_CASE("sum over every subset of dims matches a naive double loop, size-1 dims included", "[reduce]") {
  for (const Shape& shape : {Shape{3, 4, 5, 6}, Shape{2, 1, 7, 1, 3}, Shape{1, 9, 1, 11}, Shape{5, 3, 2, 4, 3}})
    for (const auto& dims : subsets(int64_t(shape.size())))
      for (DType t : {DType::f32, DType::f64}) check_sum(shape, dims, t);
}

TEST_CASE("sum past the kernel's blocks: long rows, many rows, a bias gradient, a full sum", "[reduce]") {
  check_sum({3, 20001}, {1}, DType::f32);           // rows of three 8192-element blocks
  check_sum({2049, 7}, {0}, DType::f32);            // column sums over five 512-row blocks
  check_sum({1100, 1030}, {0}, DType::f64);         // columns in two chunks, three row blocks
  check_sum({10, 16, 64, 64}, {0, 2, 3}, DType::f32);  // a conv bias gradient: [N][C][H W]
  check_sum({4, 6, 3, 700}, {0, 2}, DType::f32);    // [reduced][kept][reduced][kept]
  check_sum({7, 5, 3, 2, 9}, {0, 2, 4}, DType::f32);  // five alternating blocks: permuted first
  check_sum({100003}, {0}, DType::f32);             // one output from many blocks
}

TEST_CASE("sum gives the same bits on 1 and 2 threads", "[reduce]") {
  const int saved = omp_get_max_threads();
  Generator gen(5);
  const Tensor a = Tensor::randn({12, 16, 33, 65}, gen);
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{0, 2, 3}, {3}, {0}, {0, 1, 2, 3}, {1, 3}}) {
    omp_set_num_threads(1);
    const std::vector<float> one = sum(a, dims).to_float_vector();
    omp_set_num_threads(2);
    const std::vector<float> two = sum(a, dims).to_float_vector();
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  }
  omp_set_num_threads(saved);
}

TEST_CASE("sums over nothing are 0, and a mean over nothing is refused", "[reduce]") {
  const Tensor e = Tensor::zeros({0, 5});
  const std::vector<float> s0 = sum(e, {0}).to_float_vector();
  REQUIRE(s0.size() == 5);
  for (float v : s0) CHECK(v == 0.0f);
  CHECK(sum(e).item() == 0.0);
  CHECK(sum(Tensor::zeros({3, 0}), {1}).to_float_vector() == std::vector<float>{0, 0, 0});
  CHECK_THROWS_WITH(mean(e, {0}), Catch::Contains("mean over an empty dimension"));
}
