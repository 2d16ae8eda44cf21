#pragma once
// The pseudo-spectral Navier-Stokes step on the GPU, float64 (CUDA twin of kernels/cpu/ns_solver.hpp,
// same formulas in the same order). A batch of independent states of one n x n grid advances
// together, one launch sequence per step for the whole batch (batched cuFFT plans: 4 * batch
// maps to the grid, batch maps back); S = n * (n/2+1) half-spectrum bins per state, complex
// arrays are interleaved (re, im) doubles, state b at offset b * 2S; the four derivative
// spectra (and k1..k4) are stored quantity-major, quantity q of state b at (q * batch + b) * 2S.
// All pointers are device pointers owned by the caller; every call only enqueues work on the
// stream of the ExecContext passed first.
#include <cstdint>

#include "kernels/common/ns_buffers.hpp"
#include "kernels/internal.hpp"
#include "runtime/exec_context.hpp"

namespace sdkd::gpu {

using NSBuffers = kern::NSBuffersOf<double>;  // interleaved pairs; kernels/common/ns_buffers.hpp

// One step of the buffers' scheme on every state of the batch.
void ns_step(const ExecContext& ctx, const NSBuffers& b);

// out = f_h - mask * rfft2(u.grad w) of the states w_h_in (batch * 2S; may be b.stage, not b.k).
void ns_tendency(const ExecContext& ctx, const NSBuffers& b, const double* w_h_in, double* out);

// The grid values (batch * n * n) of the states: irfft2 with numpy's 1/n^2 (uses deriv_h as scratch).
void ns_vorticity(const ExecContext& ctx, const NSBuffers& b, double* w);

// Bytes the driver reports free on ctx.device (cudaMemGetInfo): what a batch of states may
// still claim, besides the caching allocator's idle blocks. The engine makes ctx.device current
// when it builds the context.
int64_t ns_free_device_bytes(const ExecContext& ctx);

}  // namespace sdkd::gpu
