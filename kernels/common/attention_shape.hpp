#pragma once
// The attention op's parameters, one struct for both backends (kernels/cpu/attention.hpp and
// kernels/cuda/attention.hpp): the engine fills it once from q, k and v and hands the same
// value to whichever device runs the op.
#include <cstdint>

#include "kernels/internal.hpp"
#include "sdkd/error.hpp"

namespace sdkd::kern {

struct AttentionShape {
  int64_t BH = 1;  // batch * heads
  int64_t N = 1;   // query rows
  int64_t M = 1;   // key / value rows
  int64_t d = 1;   // head dimension (shared by q, k and v)

  // The sizes every backend needs; a backend adds its own limits (the CUDA head-dim cap).
  void validate() const {
    SDKD_CHECK(BH >= 0, "attention: batch*heads must be >= 0, got ", BH);
    SDKD_CHECK(N >= 1 && M >= 1, "attention: need at least one query and one key row, got N = ", N, ", M = ", M);
    SDKD_CHECK(d >= 1, "attention: head dimension must be >= 1, got ", d);
  }
};

}  // namespace sdkd::kern
