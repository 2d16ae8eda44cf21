#include "sdkd/device.hpp"

#include <omp.h>

#include <atomic>
#include <cstdio>

#include "kernels/cpu/gemm_choice.hpp"
#include "kernels/cpu/gemm_micro.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

#ifdef SDKD_WITH_CUDA
#include "cuda_context.hpp"
#include "runtime/cuda_runtime.hpp"
#endif

namespace sdkd {

#ifdef SDKD_WITH_CUDA
bool cuda_built() { return true; }
int cuda_device_count() { return cuda_rt::device_count(); }
std::string cuda_device_summary(int index) {
  SDKD_CHECK(index >= 0 && index < cuda_device_count(), "no CUDA device ", index, " (", cuda_device_count(),
             " available)");
  return cuda_rt::device_summary(index);
}
CudaMemoryStats cuda_memory_stats(int index) { return cuda_rt::memory_stats(index); }
void cuda_reset_peak(int index) { cuda_rt::reset_peak(index); }
void cuda_empty_cache(int index) {
  require_cuda("cuda_empty_cache", index);
  cuda_rt::empty_cache(index);
}
void cuda_synchronize(int index) {
  require_cuda("cuda_synchronize", index);
  cuda_rt::synchronize(index);
}
void* cuda_stream_handle(int index) {
  require_cuda("cuda_stream_handle", index);
  return detail::cuda_context(Device{DeviceType::cuda, index}).stream;
}
#else
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_summary(int index) {
  throw Error(str_cat("no CUDA device ", index, ": this build has no CUDA backend (configure with -DSDKD_CUDA=ON)"));
}
CudaMemoryStats cuda_memory_stats(int) { return {}; }
void cuda_reset_peak(int) {}
void cuda_empty_cache(int index) { require_cuda("cuda_empty_cache", index); }
void cuda_synchronize(int index) { require_cuda("cuda_synchronize", index); }
void* cuda_stream_handle(int index) {
  require_cuda("cuda_stream_handle", index);
  return nullptr;
}
#endif

std::string cuda_unavailable_reason() {
  if (!cuda_built()) return "this build has no CUDA backend (nvcc not found or SDKD_CUDA=OFF)";
  if (cuda_device_count() == 0) return "no CUDA device visible to this process";
  return "";
}

void require_cuda(const std::string& what, int index) {
  const std::string why = cuda_unavailable_reason();
  SDKD_CHECK(why.empty(), what, ": cannot use cuda:", index, ": ", why);
  SDKD_CHECK(index >= 0 && index < cuda_device_count(), what, ": no CUDA device ", index, " (",
             cuda_device_count(), " visible to this process)");
}

namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<GemmBackend> g_gemm{GemmBackend::simt};
}  // namespace

void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }
void set_gemm_backend(GemmBackend b) { g_gemm = b; }
GemmBackend gemm_backend() { return g_gemm; }
#ifdef SDKD_WITH_CUDA
gpu::ExecContext detail::cuda_context(const Device& device) {
  SDKD_CHECK(device.is_cuda(), "internal: a CUDA execution context asked for ", device.str());
  cuda_rt::set_device(device.index);
  return gpu::make_context(device.index, gemm_backend(), deterministic());
}
#endif

GemmBackend parse_gemm_backend(const std::string& text) {
  if (text == "simt") return GemmBackend::simt;
  if (text == "tf32") return GemmBackend::tf32;
  if (text == "cublas") return GemmBackend::cublas;
  throw Error(str_cat("gemm backend '", text, "': expected simt, tf32 or cublas"));
}

std::string cpu_gemm_summary() {
  std::string compiled;
  for (int i = 0; i < cpu::kGemmIsas; ++i)
    if (cpu::gemm_micro<float>(cpu::GemmIsa(i)) != nullptr)
      compiled += str_cat(compiled.empty() ? "" : ", ", cpu::gemm_isa_name(cpu::GemmIsa(i)));
  return str_cat(cpu::cpu_gemm_choice().reason, "; blocked micro-kernel ", cpu::gemm_isa_name(cpu::active_gemm_isa()),
                 " (built: ", compiled, ")");
}

std::string cpu_threads_summary() {
  const cpu::RegionCost& c = cpu::parallel_region_cost();
  char cost[64], work[64];
  std::snprintf(cost, sizeof cost, "%.3g us", c.ns / 1e3);
  std::snprintf(work, sizeof work, "%.3g us", cpu::kRegionsOfWork * c.ns / 1e3);
  return str_cat(omp_get_max_threads(), " OpenMP threads; a parallel region counted as ", cost, " (", c.why,
                 "): a loop with less than ", work, " of work stays on one thread, whatever its kernel's own size rule");
}

}  // namespace sdkd
