// Page-locked (pinned) host memory for host tensors that are copied to a GPU: the batches of a
// model on a CUDA device (Tensor::empty_pinned). A copy out of pinned memory is a direct DMA
// transfer, queued on the device's stream without the staging memcpy copy_h2d does for pageable
// memory, so the host thread returns at once.
//
// The blocks are cached: cudaHostAlloc costs milliseconds and cudaFreeHost synchronises the
// device, too slow for every batch. A copy records the block's event on the stream; a freed
// block is handed out again only once that event has completed, so a new batch never
// overwrites bytes a queued copy has still to read.
#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "runtime/cuda_check.cuh"
#include "runtime/cuda_runtime.hpp"

namespace sdkd::cuda_rt {
namespace {

struct Block {
  size_t bytes = 0;
  bool in_use = false;
  cudaEvent_t last_copy = nullptr;  // recorded after each copy out of the block; null: none yet
};

struct PinnedPool {
  std::mutex m;
  std::map<const char*, Block> blocks;  // by start address, to find the block of a pointer
};

// Never destroyed: freeing pinned memory after the CUDA runtime has shut down would fail.
PinnedPool& pool() {
  static PinnedPool* p = new PinnedPool;
  return *p;
}

constexpr int kMaxFreeBlocks = 8;  // prefetching keeps about 4 batch tensors alive; the rest is slack

bool copy_done(const Block& b) {
  if (!b.last_copy) return true;
  const cudaError_t e = cudaEventQuery(b.last_copy);
  if (e == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: clear it
    return false;
  }
  SDKD_CUDA_CHECK(e);
  return true;
}

// Called from free_pinned, i.e. from a tensor's destructor: never throws. A failure here can
// only leak the block, which is what an error-free shutdown does anyway.
void release(std::map<const char*, Block>::iterator it, PinnedPool& p) {
  if (it->second.last_copy) {
    cudaEventSynchronize(it->second.last_copy);
    cudaEventDestroy(it->second.last_copy);
  }
  cudaFreeHost(const_cast<char*>(it->first));
  cudaGetLastError();
  p.blocks.erase(it);
}

}  // namespace

void* alloc_pinned(size_t bytes) {
  PinnedPool& p = pool();
  std::lock_guard<std::mutex> lock(p.m);
  // The smallest free block that fits and is not more than twice the size (the last, smaller
  // batch of an epoch may take a full one); one still being copied from only if none is done.
  auto best = p.blocks.end(), busy = p.blocks.end();
  int free_blocks = 0;
  for (auto it = p.blocks.begin(); it != p.blocks.end(); ++it) {
    Block& b = it->second;
    if (b.in_use) continue;
    ++free_blocks;
    if (b.bytes < bytes || b.bytes > 2 * bytes + 4096) continue;
    auto& slot = copy_done(b) ? best : busy;
    if (slot == p.blocks.end() || b.bytes < slot->second.bytes) slot = it;
  }
  if (best == p.blocks.end() && busy != p.blocks.end() && free_blocks >= kMaxFreeBlocks) {
    SDKD_CUDA_CHECK(cudaEventSynchronize(busy->second.last_copy));
    best = busy;
  }
  if (best != p.blocks.end()) {
    best->second.in_use = true;
    return const_cast<char*>(best->first);
  }
  void* ptr = nullptr;
  // Portable: pinned for every device context, whichever thread (a prefetch worker) allocates.
  if (cudaHostAlloc(&ptr, bytes, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;  // the caller falls back to pageable memory
  }
  p.blocks[static_cast<const char*>(ptr)] = Block{bytes, true, nullptr};
  return ptr;
}

void free_pinned(void* ptr) {
  PinnedPool& p = pool();
  std::lock_guard<std::mutex> lock(p.m);
  auto it = p.blocks.find(static_cast<const char*>(ptr));
  if (it == p.blocks.end() || !it->second.in_use) return;  // not ours: only Storage calls this, with its own block
  it->second.in_use = false;
  int free_blocks = 0;
  for (const auto& [start, b] : p.blocks) free_blocks += !b.in_use;
  if (free_blocks > kMaxFreeBlocks) release(it, p);  // a run of new sizes: do not keep them all
}

void copy_h2d_pinned(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  set_device(device);
  cudaStream_t stream = device_stream(device);
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  SDKD_CUDA_CHECK(cudaStreamIsCapturing(stream, &capturing));
  // A copy captured into a CUDA graph would read this host address again on every replay.
  if (capturing != cudaStreamCaptureStatusNone) return copy_h2d(dst, src, bytes, device);
  PinnedPool& p = pool();
  std::lock_guard<std::mutex> lock(p.m);
  auto it = p.blocks.upper_bound(static_cast<const char*>(src));
  SDKD_CHECK(it != p.blocks.begin(), "copy_h2d_pinned: ", src, " is not in a pinned block");
  --it;
  SDKD_CHECK(static_cast<const char*>(src) + bytes <= it->first + it->second.bytes, "copy_h2d_pinned: ", bytes,
             " bytes at ", src, " run past their pinned block");
  SDKD_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  if (!it->second.last_copy) SDKD_CUDA_CHECK(cudaEventCreateWithFlags(&it->second.last_copy, cudaEventDisableTiming));
  SDKD_CUDA_CHECK(cudaEventRecord(it->second.last_copy, stream));
}

}  // namespace sdkd::cuda_rt
