#pragma once
// Forward FLOP estimates of the registry's ops from their input shapes and output shape
// (multiply-add = 2), shared by the test cases (op_registry.cpp) and the bench-scale perf
// entries (perf_registry.cpp), so a case and its perf shapes count the same way.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd::test::ops {

using Shapes = std::vector<Shape>;
using CostFn = std::function<double(const Shapes& in, const Shape& out)>;

namespace cost {

inline double count(const Shape& s) { return double(shape_numel(s)); }

inline CostFn per_output(double k) {
  return [k](const Shapes&, const Shape& out) { return k * count(out); };
}
inline CostFn per_input(double k) {
  return [k](const Shapes& in, const Shape&) { return k * count(in[0]); };
}
inline const CostFn kNoFlops = [](const Shapes&, const Shape&) { return 0.0; };
// Every output element of a product is a dot product over the inner dimension of the first operand.
inline const CostFn kGemm = [](const Shapes& in, const Shape& out) { return 2 * count(out) * double(in[0].back()); };
// conv2d: each output element sums C_in/groups * kH * kW products (weight is input 1).
inline const CostFn kConv = [](const Shapes& in, const Shape& out) {
  return 2 * count(out) * double(in[1][1] * in[1][2] * in[1][3]);
};
// conv_transpose2d: each input element scatters into C_out/groups * kH * kW outputs.
inline const CostFn kConvT = [](const Shapes& in, const Shape&) {
  return 2 * count(in[0]) * double(in[1][1] * in[1][2] * in[1][3]);
};
// Attention: Q K^T and P V, 2 N M d each per (batch, head).
inline const CostFn kAttention = [](const Shapes& in, const Shape&) {
  const Shape& q = in[0];
  const Shape& k = in[1];
  return 4.0 * double(q[0] * q[1] * q[2] * k[2] * q[3]);
};
// A real 2-D FFT of an H x W plane: ~2.5 HW log2(HW) flops (half of a complex transform's 5 N log2 N).
inline double fft_flops(const Shape& real_shape) {
  const double H = double(real_shape[real_shape.size() - 2]), W = double(real_shape.back());
  const double planes = count(real_shape) / (H * W);
  return planes * 2.5 * H * W * std::max(1.0, std::log2(H * W));
}
inline const CostFn kRfft = [](const Shapes& in, const Shape&) { return fft_flops(in[0]); };
inline const CostFn kIrfft = [](const Shapes&, const Shape& out) { return fft_flops(out); };
// Two forward transforms and a per-bin squared difference (~8 flops per half-spectrum bin).
inline const CostFn kSpectral = [](const Shapes& in, const Shape&) { return 2 * fft_flops(in[0]) + 4 * count(in[0]); };

}  // namespace cost

}  // namespace sdkd::test::ops
