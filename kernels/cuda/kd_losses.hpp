#pragma once
// The activation-boundary (AB) distillation loss on the GPU (see distill/kd_losses.hpp for the
// formula). Plain C++ declarations (implemented in kd_losses.cu); device pointers, float32,
// contiguous student s and teacher t of n elements, current device's stream.
#include <cstdint>

namespace sdkd::gpu {

// Doubles of scratch memory ab_loss() needs for n elements.
int64_t ab_loss_workspace(int64_t n);
// out[0] = mean over i of h_i^2, h_i = max(0, t_i > 0 ? mu - s_i : mu + s_i). Partial sums in
// double per block, added in block order: deterministic, no atomics.
void ab_loss(float* out, const float* s, const float* t, int64_t n, double margin, double* workspace);
// ds[i] = (t_i > 0 ? -2 : 2) h_i g[0] / n, with g a device scalar (not read on the host).
void ab_loss_backward(float* ds, const float* s, const float* t, int64_t n, double margin, const float* g);

}  // namespace sdkd::gpu
