#pragma once
// Cheap counters for reporting model cost: floating-point operations of the heavy ops (conv,
// conv-transpose, matmul, attention) counted while a FlopCounter is alive on this thread, and
// the bytes of tensor storage currently and at most allocated (all threads), and the host
// caching allocator's statistics.
#include <cstddef>
#include <cstdint>

namespace sdkd {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  // Multiply-adds count as 2 FLOPs, as fvcore/ptflops report "FLOPs" x 2 (their MACs).
  int64_t flops() const { return flops_; }

  // Called by ops: adds to the innermost live counter of this thread, if any.
  static void add(int64_t flops);

 private:
  int64_t flops_ = 0;
  FlopCounter* outer_;
};

struct MemoryStats {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
};
MemoryStats host_memory_stats();
void reset_peak_host_memory();  // peak := current

// The caching allocator under host tensors (large blocks kept in size classes and reused, so a
// training step stops page-faulting on fresh memory; engine/src/host_cache.hpp). Blocks below
// `min_block_bytes` are not cached. `cached_bytes` are freed blocks held for reuse;
// `reserved_bytes` = cached + those in use; `system_allocs` counts blocks obtained from the
// system, `reuses` requests served from the cache, `releases` cached blocks given back (a
// request no cached block fits, and that would lift reserved bytes past the peak of bytes in
// use plus `headroom` times it, first gives back cached blocks worth the excess: one block of
// the smallest class that covers it, else largest first. So reserved bytes stay within
// (1 + headroom) x the peak in use, whatever the pattern of sizes).
struct HostCacheStats {
  int64_t cached_bytes = 0;
  int64_t reserved_bytes = 0;
  int64_t peak_reserved_bytes = 0;
  int64_t limit_bytes = 0;
  int64_t min_block_bytes = 0;
  int64_t system_allocs = 0;
  int64_t reuses = 0;
  int64_t releases = 0;
  int64_t peak_in_use_bytes = 0;  // the most bytes of blocks handed out at once (block-rounded)
  double headroom = 0.125;        // see set_host_cache_headroom
};
HostCacheStats host_cache_stats();
// Returns every cached block to the system (blocks in use are untouched).
void empty_host_cache();
// How far reserved bytes may pass the peak of bytes in use (a fraction of it; default 1/8,
// or SDKD_HOST_CACHE_HEADROOM) before a miss gives cached blocks back: the memory a training
// step whose phases use different sizes (a teacher forward, then a student step) spends to keep
// both phases' blocks instead of faulting them in again every step. 0 is the strict bound.
void set_host_cache_headroom(double fraction);
// The most bytes the cache may hold; 0 turns caching off (and empties it). The default is
// SDKD_HOST_CACHE_MB when set, else a quarter of physical memory, at most 4 GiB.
void set_host_cache_limit(int64_t bytes);
// What the allocator reserves for a request of `bytes`: 64-byte multiples below
// min_block_bytes, above it eight size classes per octave (at most 1/8 of slack).
size_t host_cache_block_bytes(size_t bytes);
// Used by Storage.
void note_host_alloc(int64_t bytes);
void note_host_free(int64_t bytes);

}  // namespace sdkd
