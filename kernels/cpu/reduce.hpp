#pragma once
// Sums over blocks of dimensions, the CPU kernel behind sum / mean / sum_to
// (engine/src/ops_reduce.cpp). A contiguous tensor whose dims, size-1 dims dropped and
// neighbours of the same kind merged, read [reduced A][kept O][reduced R][kept I] (any of the
// four may be 1) is summed where it lies:
//   out[o * I + i] = scale * sum over a, r of x[((a * O + o) * R + r) * I + i].
// Other layouts are permuted into [O][R] first by the engine. Sums run in double in an order
// fixed by the shape alone (rows in blocks of a fixed size, each block's sum in fixed lanes,
// blocks added in order), so no result depends on the thread count, and threads split both
// the kept elements and the blocks, so a sum to few outputs (a bias gradient, a full sum)
// still runs on every thread.
#include <cstdint>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

struct SumBlocks {
  int64_t A = 1, O = 1, R = 1, I = 1;
};

// An empty sum (A * R == 0) is 0 (the engine refuses a mean over nothing).
template <class T>
void sum_blocks(const T* x, const SumBlocks& s, double scale, T* out);

}  // namespace sdkd::cpu
