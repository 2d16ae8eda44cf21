#pragma once
// Pointwise kernels on the GPU: broadcasting binary ops, unary activations and their fused
// backward (dx = g * f'(x, y)), and a strided view-to-view copy (cat, slice backward).
// Plain C++ declarations (implemented in elementwise.cu); pointers are device pointers,
// float32 only, and every launch goes on the current device's stream.
#include <cstdint>

#include "kernels/internal.hpp"
#include "kernels/cuda/copy.hpp"

namespace sdkd::gpu {

enum class BinaryOp { add, sub, mul, div };

// out (contiguous, `n` elements in the broadcast shape) = a op b, where `va` and `vb` give
// a's and b's strides seen through broadcasting to the output shape (0 on broadcast dims;
// both views carry the output shape). The launcher picks a path: float4 when both operands
// are contiguous and the pointers 16-byte aligned, a scalar-operand path, or the general
// strided one after merging dimensions that are contiguous for both operands.
void binary(float* out, const float* a, const StridedView& va, const float* b, const StridedView& vb, int64_t n,
            BinaryOp op);

// The pointwise functions of ops.hpp. `param` is the exponent of pow and the slope of leaky_relu.
enum class UnaryOp { exp, log, sqrt, abs, square, pow, tanh, sigmoid, relu, leaky_relu, silu, gelu };

// y = f(x), x and y contiguous with n elements.
void unary(float* y, const float* x, int64_t n, UnaryOp op, double param);
// dx = g * f'(x, y) in one pass (g, x, y contiguous with n elements; y = f(x) of the forward).
void unary_backward(float* dx, const float* g, const float* x, const float* y, int64_t n, UnaryOp op,
                    double param);

// dst viewed through `dv` <- src viewed through `sv`, element for element in row-major order
// of the (common) shape; both views have `n` elements. Used to write into slices of a tensor.
void copy_view(float* dst, const StridedView& dv, const float* src, const StridedView& sv, int64_t n);

}  // namespace sdkd::gpu
