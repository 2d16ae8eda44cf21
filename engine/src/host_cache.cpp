#include "host_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
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

// Leaked on purpose: tensors with static storage duration may be freed after any static
// object of this file would have been destroyed.
struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by block size
  HostCacheStats stats;
  Cache() {
    stats.limit_bytes = default_limit();
    stats.min_block_bytes = int64_t(kMinBlock);
  }

  // Frees cached blocks until at most `keep` bytes stay. Caller holds mu.
  void trim_to(int64_t keep) {
    for (auto& [bytes, blocks] : free_blocks) {
      while (!blocks.empty() && stats.cached_bytes > keep) {
        std::free(blocks.back());
        blocks.pop_back();
        stats.cached_bytes -= int64_t(bytes);
        stats.reserved_bytes -= int64_t(bytes);
      }
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

void* system_alloc(size_t bytes) {
  void* p = std::aligned_alloc(kAlign, bytes);
  if (p) return p;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.trim_to(0);
  }
  p = std::aligned_alloc(kAlign, bytes);
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
      return p;
    }
  }
  void* p = system_alloc(block);
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.stats.system_allocs;
  c.stats.reserved_bytes += int64_t(block);
  c.stats.peak_reserved_bytes = std::max(c.stats.peak_reserved_bytes, c.stats.reserved_bytes);
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
    std::free(p);
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

}  // namespace sdkd
