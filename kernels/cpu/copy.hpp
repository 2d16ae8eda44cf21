#pragma once
// dst (contiguous, row-major) = the strided view src with `shape` and element `strides`,
// converted to D: the CPU side of Tensor::contiguous(), .to(dtype) and every permute. Dims that
// lie contiguously in the view are merged first; then threads take blocks of rows (the
// innermost dim), each row a unit-stride copy or a strided gather, and a transposed pair of
// dims (the innermost source stride not 1, another dim of stride 1) is copied in square tiles
// so both sides stay in cache. Every element is written once, so the bits never depend on the
// schedule.
#include <cstdint>
#include <vector>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

template <class S, class D>
void copy_strided(const S* src, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, D* dst);

}  // namespace sdkd::cpu
