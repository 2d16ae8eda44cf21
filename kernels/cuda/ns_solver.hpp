#pragma once
// The pseudo-spectral Navier-Stokes step on the GPU, float64 (CUDA twin of the stepper in
// engine/src/ns_solver.cpp, same formulas in the same order). A batch of independent states of
// one n x n grid advances together; S = n * (n/2+1) half-spectrum bins per state, complex
// arrays are interleaved (re, im) doubles, state b at offset b * 2S. All pointers are device
// pointers owned by the caller; every call only enqueues work on the stream of the
// ExecContext passed first.
#include <cstdint>

#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

struct NSBuffers {
  int n = 0;
  int64_t batch = 1;
  bool ifrk4 = true;
  double dt = 0;
  // Per-bin tables (S doubles each), computed by the CPU solver so both devices use the same numbers.
  const double* inv_lam = nullptr;  // 1 / lambda (0 at k = 0)
  const double* dkx = nullptr;      // 2 pi k_x (0 on the Nyquist row)
  const double* dky = nullptr;      // 2 pi k_y (0 on the Nyquist column)
  const double* mask = nullptr;     // the 2/3 dealiasing mask, 0 or 1
  const double* c_full = nullptr;   // fno: 1 - dt nu lambda / 2;   ifrk4: e^{-nu lambda dt}
  const double* c_half = nullptr;   // fno: 1 / (1 + dt nu lambda / 2); ifrk4: e^{-nu lambda dt / 2}
  const double* f_h = nullptr;      // 2S: the forcing spectrum, shared by the batch
  // State and scratch.
  double* w_h = nullptr;        // batch * 2S: the state (unnormalised rfft2 of w)
  double* stage = nullptr;      // batch * 2S
  double* k = nullptr;          // 4 * batch * 2S: k1..k4 (fno uses k1)
  double* deriv_h = nullptr;    // 4 * batch * 2S: spectra of u, v, w_x, w_y
  double* deriv = nullptr;      // 4 * batch * n * n
  double* product = nullptr;    // batch * n * n
  double* product_h = nullptr;  // batch * 2S
};

// One step of the buffers' scheme on every state of the batch.
void ns_step(const ExecContext& ctx, const NSBuffers& b);

// out = f_h - mask * rfft2(u.grad w) of the states w_h_in (batch * 2S; may be b.stage, not b.k).
void ns_tendency(const ExecContext& ctx, const NSBuffers& b, const double* w_h_in, double* out);

// The grid values (batch * n * n) of the states: irfft2 with numpy's 1/n^2 (uses deriv_h as scratch).
void ns_vorticity(const ExecContext& ctx, const NSBuffers& b, double* w);

}  // namespace sdkd::gpu
