#pragma once
// What accelerators this process can use, and the CUDA backend's process-wide settings.
// Safe to call on machines without a GPU or driver: they report zero devices (the CUDA
// runtime's "no device" errors are not failures here). CUDA-free: a plain C++ compiler reads it.
#include <cstdint>
#include <string>

#include "sdkd/dtype.hpp"

namespace sdkd {

bool cuda_built();          // this build has the CUDA backend compiled in
int cuda_device_count();    // 0 without a usable GPU
std::string cuda_device_summary(int index);  // "NVIDIA H100 (sm_90, 79.6 GiB)"
// Why CUDA tests and --device cuda cannot run here, or "" when they can.
std::string cuda_unavailable_reason();
// Throws sdkd::Error naming `what` (an option, a test) and the reason when CUDA cannot run.
void require_cuda(const std::string& what, int index = 0);

// The caching allocator's counters (CudaMemoryStats, sdkd/dtype.hpp) for one device.
CudaMemoryStats cuda_memory_stats(int index = 0);
void cuda_reset_peak(int index = 0);
void cuda_empty_cache(int index = 0);  // returns cached free blocks to the driver
void cuda_synchronize(int index = 0);  // waits for the device's stream
// The device's stream (a cudaStream_t, opaque here) that every op of that device launches on:
// code outside the engine that enqueues its own work (NCCL in sdkd/distributed/) orders it
// against the ops through this stream. Makes the device the calling thread's current one.
void* cuda_stream_handle(int index = 0);

// Deterministic mode: kernels that would accumulate with atomics (conv weight gradients,
// attention backward, reductions) take their fixed-order path, so the same seed gives the
// same numbers run to run. Off by default on the GPU; the CPU is always deterministic.
void set_deterministic(bool on);
bool deterministic();

// Which GEMM the CUDA backend uses for matmul and conv: our tiled SIMT fp32 kernel, our
// tensor-core TF32 kernel (mma.sync), or cuBLAS (the yardstick). fp32 is the default because
// it matches the CPU twin to fp32 rounding; TF32 trades ~1e-3 relative error for speed.
// (GemmBackend is declared in sdkd/dtype.hpp, which the kernels share.)
void set_gemm_backend(GemmBackend b);
GemmBackend gemm_backend();
GemmBackend parse_gemm_backend(const std::string& text);  // "simt" | "tf32" | "cublas"

// Which GEMM the CPU backend runs and why, one line: "blas: OpenBLAS core SkylakeX (...)" or
// "blocked: OpenBLAS runs its Prescott kernels (SSE) here, our kernel runs AVX-512", then the
// micro-kernel variant our blocked GEMM runs on this CPU and those the build has
// (kernels/cpu/gemm_choice.hpp, gemm_micro.hpp; SDKD_CPU_GEMM=blas|blocked and
// SDKD_CPU_GEMM_ISA=generic|avx2|avx512 override the rules). Fixed for the process at its
// first matmul or at this call.
std::string cpu_gemm_summary();

// The CPU thread count and what a parallel region is taken to cost, one line: "2 OpenMP
// threads; a parallel region counted as 40 us (OMP_WAIT_POLICY=passive): a loop with less
// than 120 us of work stays on one thread" (kernels/cpu/parallel_policy.hpp;
// SDKD_PARALLEL_REGION_US overrides). Throws sdkd::Error for a bad SDKD_PARALLEL_REGION_US.
std::string cpu_threads_summary();

}  // namespace sdkd
