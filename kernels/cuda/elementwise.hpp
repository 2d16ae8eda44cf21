#pragma once
// Pointwise kernels on the GPU: broadcasting binary ops, unary activations and their fused
// backward (dx = g * f'(x, y)), and a strided view-to-view copy (cat, slice backward). The
// formulas are the CPU's (kernels/common/unary_ops.hpp, binary_ops.hpp), evaluated in float.
// Plain C++ declarations (implemented in elementwise.cu); pointers are device pointers,
// float32 only, and every launch goes on the stream of the ExecContext passed first.
#include <cstdint>

#include "kernels/common/binary_ops.hpp"
#include "kernels/common/unary_ops.hpp"
#include "kernels/cuda/copy.hpp"
#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

using kern::BinaryOp;
using kern::UnaryOp;

// out (contiguous, `n` elements in the broadcast shape) = a op b, where `va` and `vb` give
// a's and b's strides seen through broadcasting to the output shape (0 on broadcast dims;
// both views carry the output shape). The launcher picks a path: float4 when both operands
// are contiguous and the pointers 16-byte aligned, a scalar-operand path, or the general
// strided one after merging dimensions that are contiguous for both operands.
void binary(const ExecContext& ctx, float* out, const float* a, const StridedView& va, const float* b,
            const StridedView& vb, int64_t n, BinaryOp op);

// y = f(x), x and y contiguous with n elements; `param` is the exponent of pow and the slope of
// leaky_relu.
void unary(const ExecContext& ctx, float* y, const float* x, int64_t n, UnaryOp op, double param);
// dx = g * f'(x, y) in one pass (g, x, y contiguous with n elements; y = f(x) of the forward).
void unary_backward(const ExecContext& ctx, float* dx, const float* g, const float* x, const float* y, int64_t n,
                    UnaryOp op, double param);

// dst viewed through `dv` <- src viewed through `sv`, element for element in row-major order
// of the (common) shape; both views have `n` elements. Used to write into slices of a tensor.
void copy_view(const ExecContext& ctx, float* dst, const StridedView& dv, const float* src, const StridedView& sv,
               int64_t n);

}  // namespace sdkd::gpu
