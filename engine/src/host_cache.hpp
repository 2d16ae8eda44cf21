#pragma once
// The caching allocator behind host tensor storage (engine-internal; the statistics and the
// limit are public in sdkd/profiling.hpp).
//
// Why: a training step allocates and frees the same large activations every step. glibc hands
// blocks above its mmap threshold straight back to the kernel on free, so the next step's
// block of the same size comes back as fresh zero pages and every 4 KiB page faults on first
// write (measured: GroupNorm forward+backward on a 105 MB map spent most of its time there).
// Large blocks are therefore kept in size classes (1/8 of an octave, so at most 12.5 % of a
// block is slack), mapped with mmap (so a released block really leaves the process), and
// handed out again to a request of the same class. Small blocks go straight to aligned_alloc:
// glibc's own bins already reuse them.
//
// Bounded: the bytes held in the cache (freed by tensors, not yet reused) stay under a limit
// (SDKD_HOST_CACHE_MB, default a quarter of physical memory capped at 4 GiB; 0 turns caching
// off); a block that would pass it is freed instead. When an allocation fails, the cache is
// emptied and the allocation tried once more. Thread-safe (one mutex; allocation is not on any
// per-element path).
#include <cstddef>

namespace sdkd::detail {

// 64-byte aligned block of at least `bytes` bytes; null only when `bytes` is 0. Throws
// sdkd::Error naming the size when the system has no memory left.
void* host_alloc(size_t bytes);

// Returns a block from host_alloc(bytes) (the same `bytes`).
void host_free(void* p, size_t bytes);

}  // namespace sdkd::detail
