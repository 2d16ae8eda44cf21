#pragma once
// The pseudo-spectral Navier-Stokes step on the CPU, float64 (the oracle; kernels/cuda/ns_solver.hpp
// is its twin, same formulas in the same order). A batch of independent states of one n x n
// grid advances together; S = n * (n/2+1) half-spectrum bins, P = n * n grid points per state.
// Every per-state block is contiguous so that state b runs exactly the arithmetic of a batch of
// one (the data generator relies on that: a trajectory's bytes do not depend on its batch).
// States are spread over OpenMP threads unless the caller is already inside a parallel region.
// All pointers are host pointers owned by the caller (engine/src/ns_solver.cpp).
#include <complex>
#include <cstdint>

#include "kernels/common/ns_buffers.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

using NSBuffers = kern::NSBuffersOf<std::complex<double>>;  // kernels/common/ns_buffers.hpp

// One step of the buffers' scheme on every state of the batch.
void ns_step(const NSBuffers& b);

// out = f_h - mask * rfft2(u.grad w) of the states w_h_in (batch * S each; out must not be a
// scratch block of b; w_h_in may be b.w_h or b.stage).
void ns_tendency(const NSBuffers& b, const std::complex<double>* w_h_in, std::complex<double>* out);

// The grid values (batch * P) of the states: irfft2 with numpy's 1/n^2.
void ns_vorticity(const NSBuffers& b, double* w);

}  // namespace sdkd::cpu
