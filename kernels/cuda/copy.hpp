#pragma once
// Fill, strided copy with dtype conversion, and counter-based random fills on the GPU.
// Plain C++ declarations (implemented in copy.cu); pointers are device pointers and every
// launch goes on the stream of the ExecContext passed first.
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"
#include "sdkd/dtype.hpp"

namespace sdkd::gpu {

// A strided view of up to kMaxDims dimensions, passed to kernels by value.
constexpr int kMaxDims = 8;
struct StridedView {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // in elements
};
// Builds the view; throws sdkd::Error when the tensor has more than kMaxDims dimensions.
StridedView make_view(const Shape& shape, const Shape& strides, const char* op);

void fill(const ExecContext& ctx, void* dst, DType dtype, int64_t n, double value);
// dst (contiguous, dst_dtype) <- src viewed through `view` (src_dtype), element for element.
void copy_strided(const ExecContext& ctx, void* dst, DType dst_dtype, const void* src, DType src_dtype, const StridedView& view, int64_t n);

// Element i = Philox draw (seed, stream, base + i), as Tensor::randn / Tensor::rand on the CPU.
enum class RandomKind { normal, uniform_01 };
void fill_random(const ExecContext& ctx, void* dst, DType dtype, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, RandomKind kind);
// mask[i] = uniform(seed, stream, base + i) > p ? scale : 0 (dropout, drop-path masks).
void fill_bernoulli_mask(const ExecContext& ctx, float* dst, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, double p, double scale);

}  // namespace sdkd::gpu
