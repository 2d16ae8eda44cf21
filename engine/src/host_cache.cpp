#include "host_cache.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <map>
#include <vector>

#include "sdkd/error.hpp"
#include "sdkd/profiling.hpp"

namespace sdkd {
namespace {

// Below this, glibc's bins reuse freed memory without the kernel's help.
constexpr size_t kMinBlock = size_t(256) << 10;
constexpr size_t kAlign = 64;

int64_t default_limit() {
  if (const char* env = std::getenv("SDKD_HOST_CACHE_MB")) {
    char* end = nullptr;
    errno = 0;
    const long long mb = std::strtoll(env, &end, 10);
    SDKD_CHECK(end != env && *end == '\0' && errno == 0 && mb >= 0 && mb <= (int64_t(1) << 30),
               "SDKD_HOST_CACHE_MB: expected a whole number of MiB >= 0 (0 turns the host cache off), got '", env,
               "'");
    return int64_t(mb) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const int64_t quarter = pages > 0 && page > 0 ? int64_t(pages) * page / 4 : int64_t(1) << 30;
  return std::min<int64_t>(quarter, int64_t(4) << 30);
}

// Reserved bytes may pass the peak of bytes in use by this fraction of it before a miss gives
// cached blocks back (SDKD_HOST_CACHE_HEADROOM overrides; 0 is the strict bound).
double default_headroom() {
  if (const char* env = std::getenv("SDKD_HOST_CACHE_HEADROOM")) {
    char* end = nullptr;
    const double h = std::strtod(env, &end);
    SDKD_CHECK(end != env && *end == '\0' && h >= 0 && h <= 4, "SDKD_HOST_CACHE_HEADROOM: expected a fraction in [0, 4], got '", env, "'");
    return h;
  }
  return 0.125;
}

// Gives a block of `bytes` (a size class) back: munmap for cached sizes, free below.
void system_free(void* p, size_t bytes) {
  if (bytes < kMinBlock) std::free(p);
  else munmap(p, bytes);
}

// Leaked on purpose: tensors with static storage duration may be freed after any static
// object of this file would have been destroyed.
struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // by block size
  HostCacheStats stats;
  Cache() {
    stats.limit_bytes = default_limit();
    stats.min_block_bytes = int64_t(kMinBlock);
    stats.headroom = default_headroom();
  }

  // Frees cached blocks worth at least `excess` bytes, the fewest bytes that do: one block of
  // the smallest class that covers it, else (no single block does) largest first. The
  // largest cached block is usually an activation the next step needs again. Caller holds mu.
  void release_for(int64_t excess) {
    for (auto it = free_blocks.lower_bound(size_t(excess)); it != free_blocks.end(); ++it) {
      if (it->second.empty()) continue;
      system_free(it->second.back(), it->first);
      it->second.pop_back();
      stats.cached_bytes -= int64_t(it->first);
      stats.reserved_bytes -= int64_t(it->first);
      ++stats.releases;
      return;
    }
    trim_to(std::max<int64_t>(0, stats.cached_bytes - excess));
  }

  // Frees cached blocks, largest first, until at most `keep` bytes stay. Caller holds mu.
  void trim_to(int64_t keep) {
    for (auto it = free_blocks.rbegin(); it != free_blocks.rend() && stats.cached_bytes > keep; ++it) {
      auto& [bytes, blocks] = *it;
      while (!blocks.empty() && stats.cached_bytes > keep) {
        system_free(blocks.back(), bytes);
        blocks.pop_back();
        stats.cached_bytes -= int64_t(bytes);
        stats.reserved_bytes -= int64_t(bytes);
        ++stats.releases;
      }
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

// Small blocks from malloc; cached ones straight from the kernel. Through malloc, freeing an
// mmap-sized block raises glibc's mmap threshold, later large blocks then come from its heap,
// and heap memory given back by the cache stays in the process: its peak memory grew by a
// fifth in the teacher step. An anonymous mapping is page-aligned and leaves with munmap.
void* try_system_alloc(size_t bytes) {
  if (bytes < kMinBlock) return std::aligned_alloc(kAlign, bytes);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void* system_alloc(size_t bytes) {
  if (void* p = try_system_alloc(bytes)) return p;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.trim_to(0);
  }
  void* p = try_system_alloc(bytes);
  SDKD_CHECK(p, "out of host memory allocating ", bytes, " bytes (the host tensor cache was emptied first)");
  return p;
}

}  // namespace

size_t host_cache_block_bytes(size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded < kMinBlock) return rounded;
  // Eight classes per octave: the step is 1/8 of the largest power of two <= the size.
  int octave = 63 - __builtin_clzll(uint64_t(rounded));
  const size_t step = size_t(1) << (octave - 3);
  return (rounded + step - 1) / step * step;
}

namespace detail {

void* host_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t block = host_cache_block_bytes(bytes);
  if (block < kMinBlock) return system_alloc(block);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(block);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= int64_t(block);
      ++c.stats.reuses;
      c.stats.peak_in_use_bytes = std::max(c.stats.peak_in_use_bytes, c.stats.reserved_bytes - c.stats.cached_bytes);
      return p;
    }
    // Release before growing past the bound: while reserved bytes plus this block stay within
    // the peak of bytes in use plus the headroom, the cached blocks of other sizes (an earlier
    // phase's, say the teacher forward's before the student's step) are kept for the next
    // time that phase comes; beyond it, blocks worth the excess go back to the system. The
    // bound follows what is in use, not what is reserved, so reserving more never raises it.
    // With no headroom, a step whose tensors change size classes between its phases gave back
    // large blocks at every miss and faulted them in again the next step (13 fresh blocks per
    // step in the SimVP teacher's, 1.5x the SDKD step's time).
    const int64_t bound = c.stats.peak_in_use_bytes + int64_t(c.stats.headroom * double(c.stats.peak_in_use_bytes));
    const int64_t excess = c.stats.reserved_bytes + int64_t(block) - bound;
    if (excess > 0) c.release_for(excess);
  }
  void* p = system_alloc(block);
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.stats.system_allocs;
  c.stats.reserved_bytes += int64_t(block);
  c.stats.peak_reserved_bytes = std::max(c.stats.peak_reserved_bytes, c.stats.reserved_bytes);
  c.stats.peak_in_use_bytes = std::max(c.stats.peak_in_use_bytes, c.stats.reserved_bytes - c.stats.cached_bytes);
  return p;
}

void host_free(void* p, size_t bytes) {
  if (!p) return;
  const size_t block = host_cache_block_bytes(bytes);
  if (block < kMinBlock) {
    std::free(p);
    return;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.stats.cached_bytes + int64_t(block) > c.stats.limit_bytes) {
    system_free(p, block);
    c.stats.reserved_bytes -= int64_t(block);
    return;
  }
  c.free_blocks[block].push_back(p);
  c.stats.cached_bytes += int64_t(block);
}

}  // namespace detail

HostCacheStats host_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void empty_host_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.trim_to(0);
}

void set_host_cache_limit(int64_t bytes) {
  SDKD_CHECK(bytes >= 0, "set_host_cache_limit: expected bytes >= 0, got ", bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.limit_bytes = bytes;
  c.trim_to(bytes);
}

void set_host_cache_headroom(double fraction) {
  SDKD_CHECK(fraction >= 0 && fraction <= 4, "set_host_cache_headroom: expected a fraction in [0, 4], got ", fraction);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.headroom = fraction;
}

}  // namespace sdkd
