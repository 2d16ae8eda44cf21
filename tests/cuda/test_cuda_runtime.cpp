// The CUDA runtime layer: transfers, strided copies, fills, random numbers, the caching
// allocator's reuse and its errors, and CUDA-graph capture/replay, each against the CPU.
#include <cstring>

#include "cuda_test.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;

TEST_CASE("host -> device -> host round trip is exact, including strided views", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  for (Shape shape : {Shape{1}, Shape{7}, Shape{3, 5, 2}, Shape{1, 1, 33, 17}}) {
    const Tensor x = cpu_randn(shape, 7);
    const Tensor back = x.to(kCuda).to(kCpu);
    REQUIRE(back.to_float_vector() == x.to_float_vector());
  }
  const Tensor x = cpu_randn({4, 6, 5}, 3);
  const Tensor p = x.permute({2, 0, 1}).slice(1, 1, 4);
  const Tensor on_gpu = x.to(kCuda).permute({2, 0, 1}).slice(1, 1, 4).contiguous();
  REQUIRE(on_gpu.to_float_vector() == p.contiguous().to_float_vector());
}

TEST_CASE("dtype conversion and fill match the CPU", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor x = cpu_randn({5, 9}, 11);
  REQUIRE(x.to(kCuda).to(DType::f64).to(kCpu).to_double_vector() == x.to(DType::f64).to_double_vector());
  Tensor f = Tensor::full({3, 7}, 2.5, DType::f32, kCuda);
  for (float v : f.to_float_vector()) REQUIRE(v == 2.5f);
  Tensor d = Tensor::zeros({3, 4}, DType::f32, kCuda);
  d.copy_(x.slice(1, 0, 4).slice(0, 0, 3));  // host source, strided
  REQUIRE(d.to_float_vector() == x.slice(1, 0, 4).slice(0, 0, 3).contiguous().to_float_vector());
}

TEST_CASE("randn and rand draw the CPU's numbers", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  for (int64_t n : {1, 5, 4097}) {
    Generator gc(42), gg(42);
    gc.offset = gg.offset = 12;
    const Tensor c = Tensor::randn({n}, gc), g = Tensor::randn({n}, gg, DType::f32, kCuda);
    CHECK_CLOSE(g, c, 1e-6, 1e-6, "randn");
    REQUIRE(gc.offset == gg.offset);
    const Tensor cu = Tensor::rand({n}, gc), gu = Tensor::rand({n}, gg, DType::f32, kCuda);
    CHECK_CLOSE(gu, cu, 1e-6, 1e-7, "rand");
  }
}

TEST_CASE("the caching allocator reuses freed blocks and counts bytes", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  cuda_synchronize();
  const CudaMemoryStats before = cuda_memory_stats();
  { Tensor a = Tensor::empty({1000, 1000}, DType::f32, kCuda); }
  const CudaMemoryStats mid = cuda_memory_stats();
  REQUIRE(mid.allocated == before.allocated);
  REQUIRE(mid.peak_allocated >= before.allocated + 4000000);
  for (int i = 0; i < 5; ++i) Tensor b = Tensor::empty({1000, 1000}, DType::f32, kCuda);
  const CudaMemoryStats after = cuda_memory_stats();
  REQUIRE(after.driver_allocs == mid.driver_allocs);  // served from the cache every time
  REQUIRE(after.reserved >= 4000000);
}

TEST_CASE("out-of-memory and a missing device give one clear error", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  try {
    Tensor huge = Tensor::empty({int64_t(1) << 46}, DType::f32, kCuda);  // 256 TiB
    FAIL("allocation should have failed");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("out of memory") != std::string::npos);
    CHECK(msg.find("MiB") != std::string::npos);
  }
  const Device missing{DeviceType::cuda, cuda_device_count()};
  REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::f32, missing), Catch::Contains("no CUDA device"));
}

TEST_CASE("tensors on different devices are refused with the devices named", "[cuda]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor a = cpu_randn({3}, 1), b = a.to(kCuda);
  REQUIRE_THROWS_WITH(add(a, b), Catch::Contains("different devices"));
}
