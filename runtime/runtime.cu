// CUDA runtime glue: device queries, one stream and one cuBLAS handle per device, copies, and
// CUDA-graph capture. Runtime API only: linking the driver library would stop the binary from
// starting on machines without a GPU driver.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/cuda_check.cuh"
#include "runtime/cuda_runtime.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::cuda_rt {

int device_count() {
  // Without a GPU the runtime returns an error (35: insufficient driver, 100: no device) and
  // may leave the count unwritten, so start from 0 and treat any error as "none".
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return n;
}

std::string device_summary(int index) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, index) != cudaSuccess) return "unknown device";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB, %d SMs)", p.name, p.major, p.minor,
                double(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), p.multiProcessorCount);
  return buf;
}

namespace {

constexpr int kMaxDevices = 16;

struct DeviceContext {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  int sm_count = 1, cc_major = 0, max_smem_optin = 0;  // attributes, queried once
  // Pinned staging for host->device copies of pageable memory; the event says when the
  // previous copy out of it has finished, so it can be refilled.
  void* staging = nullptr;
  size_t staging_bytes = 0;
  cudaEvent_t staging_done = nullptr;
  std::mutex staging_mutex;
};

DeviceContext g_ctx[kMaxDevices];

void check_index(int device) {
  static const int n = device_count();  // fixed for the process; queried on every launch otherwise
  SDKD_CHECK(device >= 0 && device < n && device < kMaxDevices, "no CUDA device ", device, " (",
             n, " visible to this process)");
}

DeviceContext& context(int device) {
  check_index(device);
  DeviceContext& c = g_ctx[device];
  std::call_once(c.once, [&] {
    int prev = 0;
    SDKD_CUDA_CHECK(cudaGetDevice(&prev));
    SDKD_CUDA_CHECK(cudaSetDevice(device));
    // Non-blocking: the legacy default stream cannot be captured into a CUDA graph.
    SDKD_CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
    SDKD_CUDA_CHECK(cudaEventCreateWithFlags(&c.staging_done, cudaEventDisableTiming));
    SDKD_CUDA_CHECK(cudaDeviceGetAttribute(&c.sm_count, cudaDevAttrMultiProcessorCount, device));
    if (c.sm_count < 1) c.sm_count = 1;
    SDKD_CUDA_CHECK(cudaDeviceGetAttribute(&c.cc_major, cudaDevAttrComputeCapabilityMajor, device));
    SDKD_CUDA_CHECK(cudaDeviceGetAttribute(&c.max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    SDKD_CUDA_CHECK(cudaSetDevice(prev));
  });
  return c;
}

}  // namespace

void set_device(int index) {
  check_index(index);
  int cur = -1;
  SDKD_CUDA_CHECK(cudaGetDevice(&cur));
  if (cur != index) SDKD_CUDA_CHECK(cudaSetDevice(index));
}

int current_device() {
  int cur = 0;
  SDKD_CUDA_CHECK(cudaGetDevice(&cur));
  return cur;
}

cudaStream_t device_stream(int device) { return context(device).stream; }

// The cuBLAS handle of `c`, created on first use and bound to the device's stream for good.
static cublasHandle_t blas_handle(int device, DeviceContext& c) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  if (!c.cublas) {
    int prev = 0;
    SDKD_CUDA_CHECK(cudaGetDevice(&prev));
    SDKD_CUDA_CHECK(cudaSetDevice(device));
    SDKD_CUBLAS_CHECK(cublasCreate(&c.cublas));
    // Our fp32 path must stay fp32: no silent TF32 inside cuBLAS unless asked for.
    SDKD_CUBLAS_CHECK(cublasSetMathMode(c.cublas, CUBLAS_DEFAULT_MATH));
    SDKD_CUBLAS_CHECK(cublasSetStream(c.cublas, c.stream));
    SDKD_CUDA_CHECK(cudaSetDevice(prev));
  }
  return c.cublas;
}

const char* cufft_error_string(cufftResult r) {
  switch (r) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED (out of device memory for the FFT plan)";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "cuFFT error";
  }
}

const char* cublas_error_string(cublasStatus_t s) { return cublasGetStatusString(s); }

void copy_h2d(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  set_device(device);
  DeviceContext& c = context(device);
  std::lock_guard<std::mutex> lock(c.staging_mutex);
  SDKD_CUDA_CHECK(cudaEventSynchronize(c.staging_done));  // the previous copy has left staging
  if (c.staging_bytes < bytes) {
    if (c.staging) SDKD_CUDA_CHECK(cudaFreeHost(c.staging));
    c.staging = nullptr;
    c.staging_bytes = 0;
    SDKD_CUDA_CHECK(cudaMallocHost(&c.staging, bytes));
    c.staging_bytes = bytes;
  }
  std::memcpy(c.staging, src, bytes);
  SDKD_CUDA_CHECK(cudaMemcpyAsync(dst, c.staging, bytes, cudaMemcpyHostToDevice, c.stream));
  SDKD_CUDA_CHECK(cudaEventRecord(c.staging_done, c.stream));
}

void copy_d2h(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  set_device(device);
  DeviceContext& c = context(device);
  SDKD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c.stream));
  SDKD_CUDA_CHECK(cudaStreamSynchronize(c.stream));
}

void copy_d2d(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  set_device(device);
  SDKD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, context(device).stream));
}

void synchronize(int device) {
  set_device(device);
  SDKD_CUDA_CHECK(cudaStreamSynchronize(context(device).stream));
}

}  // namespace sdkd::cuda_rt

namespace sdkd::gpu {

ExecContext make_context(int device, GemmBackend gemm, bool deterministic) {
  cuda_rt::DeviceContext& c = cuda_rt::context(device);
  ExecContext ctx;
  ctx.device = device;
  ctx.stream = c.stream;
  ctx.blas = cuda_rt::blas_handle(device, c);
  ctx.gemm = gemm;
  ctx.deterministic = deterministic;
  ctx.sm_count = c.sm_count;
  ctx.cc_major = c.cc_major;
  ctx.max_smem_optin = c.max_smem_optin;
  return ctx;
}

Workspace::Workspace(const ExecContext& ctx, size_t bytes) : bytes_(bytes), device_(ctx.device) {
  if (bytes_ > 0) ptr_ = cuda_rt::alloc(bytes_, device_);
}

Workspace::~Workspace() {
  if (ptr_) cuda_rt::free(ptr_, bytes_, device_);
}

}  // namespace sdkd::gpu
