// Stream-ordered caching allocator. Every kernel of a device runs on that device's one stream,
// so a block freed by the host can be handed to the next allocation at once: any later kernel
// using it is ordered after the kernels that used it before. Sizes are rounded to classes
// (512 B steps up to 1 MiB, then quarter powers of two) and free blocks are kept per class, so
// a training step that repeats the same shapes stops calling cudaMalloc after its first pass.
//
// CUDA graphs: while a capture is open, allocations come from the graph's private pool and
// return to it, because replaying the graph writes to the captured addresses again; those
// blocks must never be handed to tensors outside the graph. The pool lives as long as the graph.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "runtime/cuda_runtime.hpp"
#include "runtime/cuda_check.cuh"

namespace sdkd::cuda_rt {

namespace {

size_t size_class(size_t bytes) {
  constexpr size_t kSmallStep = 512, kSmallMax = size_t(1) << 20;
  if (bytes <= kSmallMax) return ((bytes + kSmallStep - 1) / kSmallStep) * kSmallStep;
  size_t p = kSmallMax;
  while (p < bytes) p <<= 1;  // p/2 < bytes <= p: round to p/2 + k*p/8
  const size_t step = p / 8;
  return ((bytes + step - 1) / step) * step;
}

struct Pool {
  std::map<size_t, std::vector<void*>> free_blocks;  // by size class
  std::vector<std::pair<void*, size_t>> owned;        // every block this pool got from the driver
};

struct DeviceAllocator {
  std::mutex m;
  Pool main;
  std::unordered_map<void*, Pool*> owner;  // live block -> the pool it returns to
  Pool* capture_pool = nullptr;            // set while a graph capture is open
  CudaMemoryStats stats;
};

constexpr int kMaxDevices = 16;
DeviceAllocator g_alloc[kMaxDevices];

DeviceAllocator& allocator(int device) {
  SDKD_CHECK(device >= 0 && device < kMaxDevices, "CUDA device index ", device, " out of range");
  return g_alloc[device];
}

double mib(int64_t b) { return double(b) / (1024.0 * 1024.0); }

void release_cached(DeviceAllocator& a, Pool& p) {
  for (auto& [cls, blocks] : p.free_blocks) {
    for (void* ptr : blocks) {
      cudaFree(ptr);
      a.stats.reserved -= int64_t(cls);
      ++a.stats.driver_frees;
      for (auto it = p.owned.begin(); it != p.owned.end(); ++it)
        if (it->first == ptr) {
          p.owned.erase(it);
          break;
        }
    }
  }
  p.free_blocks.clear();
}

}  // namespace

// Kernels launch on the stream of the device their tensors live on, so this release
// computes on one CUDA device per process: the first one that gets a tensor. Asking for
// another is refused here rather than silently launching on the wrong device.
namespace {
void claim_device(int device) {
  static std::atomic<int> used{-1};
  int expected = -1;
  if (used.compare_exchange_strong(expected, device)) return;
  SDKD_CHECK(expected == device, "cuda:", device, " requested but this process already computes on cuda:", expected,
             " (one CUDA device per process in this release; select it with --device or CUDA_VISIBLE_DEVICES)");
}
}  // namespace

void* alloc(size_t bytes, int device) {
  if (bytes == 0) return nullptr;
  claim_device(device);
  set_device(device);
  DeviceAllocator& a = allocator(device);
  std::lock_guard<std::mutex> lock(a.m);
  Pool& pool = a.capture_pool ? *a.capture_pool : a.main;
  const size_t cls = size_class(bytes);
  void* ptr = nullptr;
  auto it = pool.free_blocks.find(cls);
  if (it != pool.free_blocks.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&ptr, cls);
    if (err == cudaErrorMemoryAllocation && !a.capture_pool) {
      cudaGetLastError();
      cudaStreamSynchronize(device_stream(device));  // cached blocks may still be in use by queued kernels
      release_cached(a, a.main);
      err = cudaMalloc(&ptr, cls);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw Error(str_cat("CUDA out of memory on cuda:", device, " allocating ", mib(int64_t(bytes)),
                          " MiB (tensors hold ", mib(a.stats.allocated), " MiB, allocator reserves ",
                          mib(a.stats.reserved), " MiB, device has ", mib(int64_t(free_b)), " MiB free of ",
                          mib(int64_t(total_b)), " MiB): try a smaller --batch or model"));
    }
    pool.owned.emplace_back(ptr, cls);
    a.stats.reserved += int64_t(cls);
    a.stats.peak_reserved = std::max(a.stats.peak_reserved, a.stats.reserved);
    ++a.stats.driver_allocs;
  }
  a.owner[ptr] = &pool;
  a.stats.allocated += int64_t(cls);
  a.stats.peak_allocated = std::max(a.stats.peak_allocated, a.stats.allocated);
  return ptr;
}

void free(void* ptr, size_t bytes, int device) {
  if (!ptr) return;
  DeviceAllocator& a = allocator(device);
  std::lock_guard<std::mutex> lock(a.m);
  const size_t cls = size_class(bytes);
  auto it = a.owner.find(ptr);
  Pool* pool = it == a.owner.end() ? &a.main : it->second;
  if (it != a.owner.end()) a.owner.erase(it);
  pool->free_blocks[cls].push_back(ptr);
  a.stats.allocated -= int64_t(cls);
}

CudaMemoryStats memory_stats(int device) {
  DeviceAllocator& a = allocator(device);
  std::lock_guard<std::mutex> lock(a.m);
  return a.stats;
}

void reset_peak(int device) {
  DeviceAllocator& a = allocator(device);
  std::lock_guard<std::mutex> lock(a.m);
  a.stats.peak_allocated = a.stats.allocated;
  a.stats.peak_reserved = a.stats.reserved;
}

void empty_cache(int device) {
  set_device(device);
  DeviceAllocator& a = allocator(device);
  SDKD_CUDA_CHECK(cudaStreamSynchronize(device_stream(device)));
  std::lock_guard<std::mutex> lock(a.m);
  release_cached(a, a.main);
}

// ---- CUDA graphs ----

struct Graph {
  int device = 0;
  Pool pool;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
};

Graph* graph_begin_capture(int device) {
  set_device(device);
  auto g = std::make_unique<Graph>();
  g->device = device;
  SDKD_CUDA_CHECK(cudaStreamSynchronize(device_stream(device)));
  DeviceAllocator& a = allocator(device);
  {
    std::lock_guard<std::mutex> lock(a.m);
    SDKD_CHECK(!a.capture_pool, "a CUDA graph capture is already open on cuda:", device);
    a.capture_pool = &g->pool;
  }
  // Relaxed: the allocator may call cudaMalloc while the capture is open.
  const cudaError_t err = cudaStreamBeginCapture(device_stream(device), cudaStreamCaptureModeRelaxed);
  if (err != cudaSuccess) {
    std::lock_guard<std::mutex> lock(a.m);
    a.capture_pool = nullptr;
    SDKD_CUDA_CHECK(err);
  }
  return g.release();
}

void graph_end_capture(Graph* g) {
  set_device(g->device);
  DeviceAllocator& a = allocator(g->device);
  const cudaError_t err = cudaStreamEndCapture(device_stream(g->device), &g->graph);
  {
    std::lock_guard<std::mutex> lock(a.m);
    a.capture_pool = nullptr;
  }
  SDKD_CUDA_CHECK(err);
  SDKD_CUDA_CHECK(cudaGraphInstantiate(&g->exec, g->graph, 0));
}

void graph_replay(Graph* g) {
  set_device(g->device);
  SDKD_CUDA_CHECK(cudaGraphLaunch(g->exec, device_stream(g->device)));
}

void graph_destroy(Graph* g) {
  if (!g) return;
  cudaSetDevice(g->device);
  cudaStreamSynchronize(device_stream(g->device));
  if (g->exec) cudaGraphExecDestroy(g->exec);
  if (g->graph) cudaGraphDestroy(g->graph);
  DeviceAllocator& a = allocator(g->device);
  {
    std::lock_guard<std::mutex> lock(a.m);
    // Blocks still held by live tensors move to the main pool's ownership when freed.
    for (auto& [ptr, owner] : a.owner)
      if (owner == &g->pool) owner = &a.main;
    for (auto& [cls, blocks] : g->pool.free_blocks)
      for (void* p : blocks) {
        cudaFree(p);
        a.stats.reserved -= int64_t(cls);
        ++a.stats.driver_frees;
      }
    for (auto& [ptr, cls] : g->pool.owned) {
      bool freed = false;
      for (auto& [c2, blocks] : g->pool.free_blocks)
        for (void* p : blocks) freed = freed || p == ptr;
      if (!freed) a.main.owned.emplace_back(ptr, cls);
    }
  }
  delete g;
}

}  // namespace sdkd::cuda_rt
