#include <catch2/catch.hpp>

#include "sdkd/cuda_graph.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;

TEST_CASE("device queries agree with each other", "[device]") {
  const int n = cuda_device_count();
  CHECK(n >= 0);
  CHECK(cuda_unavailable_reason().empty() == (cuda_built() && n > 0));
  CHECK_THROWS_AS(cuda_device_summary(n), Error);  // one past the last device
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("expected cpu, cuda or cuda:N"));
  CHECK(parse_device("cuda:1").index == 1);
}

TEST_CASE("CUDA device properties are readable", "[device][cuda]") {
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  const std::string s = cuda_device_summary(0);
  CHECK(s.find("sm_") != std::string::npos);
}

// Where CUDA cannot run (no build support, or no device), every way into it fails with one
// error naming what was asked and why, and nothing half-made is left.
TEST_CASE("CUDA requests fail with a clear error where CUDA cannot run", "[device]") {
  const std::string why = cuda_unavailable_reason();
  if (why.empty()) {
    WARN("SKIPPED: a CUDA device is available here; the error paths need a machine without one");
    return;
  }
  const Device gpu{DeviceType::cuda, 0};
  CHECK_THROWS_WITH(Tensor::zeros({3}, DType::f32, gpu), Catch::Contains("cannot use cuda:0") && Catch::Contains(why));
  const Tensor x = Tensor::ones({2, 2});
  CHECK_THROWS_WITH(x.to(gpu), Catch::Contains("moving a tensor"));
  CHECK_THROWS_WITH(CudaGraph(gpu), Catch::Contains("CudaGraph"));
  CHECK_THROWS_WITH(require_cuda("--device cuda"), Catch::Contains("--device cuda: cannot use cuda:0"));
  CHECK_THROWS_WITH(cuda_synchronize(), Catch::Contains("cuda_synchronize"));
  // The CPU side is untouched: moving to the CPU is the identity and keeps the storage.
  CHECK(x.to(Device{}).impl() == x.impl());
  CHECK(cuda_memory_stats().allocated == 0);
}

TEST_CASE("deterministic mode and the GEMM backend are process settings with checked names", "[device]") {
  const bool was = deterministic();
  const GemmBackend g = gemm_backend();
  set_deterministic(!was);
  CHECK(deterministic() == !was);
  set_deterministic(was);
  CHECK(parse_gemm_backend("tf32") == GemmBackend::tf32);
  CHECK(parse_gemm_backend("cublas") == GemmBackend::cublas);
  CHECK_THROWS_WITH(parse_gemm_backend("fast"), Catch::Contains("expected simt, tf32 or cublas"));
  set_gemm_backend(GemmBackend::cublas);
  CHECK(gemm_backend() == GemmBackend::cublas);
  set_gemm_backend(g);
}
