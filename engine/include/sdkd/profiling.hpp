#pragma once
// Cheap counters for reporting model cost: floating-point operations of the heavy ops (conv,
// conv-transpose, matmul, attention) counted while a FlopCounter is alive on this thread, and
// the bytes of tensor storage currently and at most allocated (all threads).
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
// Used by Storage.
void note_host_alloc(int64_t bytes);
void note_host_free(int64_t bytes);

}  // namespace sdkd
