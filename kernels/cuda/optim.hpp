#pragma once
// Multi-tensor optimizer kernels: one launch updates every parameter (a training step of a
// model with ~100 parameter tensors would otherwise pay ~100 launches), plus the global
// gradient norm (deterministic: fixed-order partial sums) and in-place gradient scaling.
// Launches go on the stream of the ExecContext passed first.
#include <cstdint>
#include <vector>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

struct AdamTensor {
  float* w;
  const float* g;
  float* m;
  float* v;
  int64_t n;
};
// The same arithmetic, in the same order, as the CPU loop in engine/src/optim.cpp.
struct AdamScalars {
  // one_minus_* are rounded from double, as the CPU loop's T(1 - b1) is.
  float beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, inv_sqrt_bc2, eps, lr_wd, wd;
  bool decoupled;
};
void adam_step(const ExecContext& ctx, const std::vector<AdamTensor>& tensors, const AdamScalars& s);

// Sum over all tensors of sum(g^2), accumulated in double in a fixed order (the partial sums
// live in a launch-local Workspace of ctx). Waits for the result: it returns a host value.
double sq_norm(const ExecContext& ctx, const std::vector<std::pair<const float*, int64_t>>& tensors);
void scale_(const ExecContext& ctx, float* x, int64_t n, float s);

}  // namespace sdkd::gpu
