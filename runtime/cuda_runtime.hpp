#pragma once
// The engine's view of the CUDA runtime (plain C++; implemented in runtime/*.cu, the layer
// below the CUDA kernels). Only called where a tensor already lives on a CUDA device, so a
// CPU-only build never links it: call sites wrap the calls in SDKD_CUDA_ONLY (dispatch.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "sdkd/dtype.hpp"

namespace sdkd::cuda_rt {

int device_count();
std::string device_summary(int index);

// Makes `index` the calling thread's current device (a no-op when it already is).
void set_device(int index);
int current_device();

// Stream-ordered caching allocator: blocks freed go back to a per-device pool and are reused
// by later work on the same stream, so a steady training step never calls cudaMalloc.
void* alloc(size_t bytes, int device);
void free(void* ptr, size_t bytes, int device);
CudaMemoryStats memory_stats(int device);
void reset_peak(int device);
void empty_cache(int device);

// Copies on the device's stream. Device->host waits for the copy; host->device from pageable
// memory goes through a pinned staging buffer so the copy is truly asynchronous.
void copy_h2d(void* dst, const void* src, size_t bytes, int device);
void copy_d2h(void* dst, const void* src, size_t bytes, int device);
void copy_d2d(void* dst, const void* src, size_t bytes, int device);
void synchronize(int device);

// Page-locked host blocks (runtime/pinned_host.cu), cached and reused once the copies out of
// them have finished. alloc_pinned returns nullptr when the driver refuses (the caller then
// uses pageable memory). copy_h2d_pinned queues a direct copy from such a block and returns at
// once: the host must not write the block's bytes while the copy may still run (the batch
// loader fills each block before its one copy and never again).
void* alloc_pinned(size_t bytes);
void free_pinned(void* ptr);
void copy_h2d_pinned(void* dst, const void* src, size_t bytes, int device);

// CUDA graphs: while a capture is open on the current device, allocations come from a pool
// private to the graph (the graph keeps reusing those addresses on replay).
struct Graph;
Graph* graph_begin_capture(int device);
void graph_end_capture(Graph* g);
void graph_replay(Graph* g);
void graph_destroy(Graph* g);

}  // namespace sdkd::cuda_rt
