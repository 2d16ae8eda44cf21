#include "sdkd/profiling.hpp"

#include <atomic>

namespace sdkd {

namespace {
thread_local FlopCounter* g_counter = nullptr;
std::atomic<int64_t> g_current{0}, g_peak{0};
}  // namespace

FlopCounter::FlopCounter() : outer_(g_counter) { g_counter = this; }
FlopCounter::~FlopCounter() { g_counter = outer_; }

void FlopCounter::add(int64_t flops) {
  // Nested counters all see the work done inside them.
  for (FlopCounter* c = g_counter; c; c = c->outer_) c->flops_ += flops;
}

MemoryStats host_memory_stats() { return {g_current.load(), g_peak.load()}; }

void reset_peak_host_memory() { g_peak.store(g_current.load()); }

void note_host_alloc(int64_t bytes) {
  const int64_t now = g_current.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

void note_host_free(int64_t bytes) { g_current.fetch_sub(bytes); }

}  // namespace sdkd
