#pragma once
// The Navier-Stokes step's parameters and buffers, one struct for both backends: the engine
// fills it (engine/src/ns_solver.cpp) from the same CPU-computed tables and hands it to
// cpu::ns_step or its CUDA twin (kernels/cpu/ns_solver.hpp, kernels/cuda/ns_solver.hpp).
//
// A batch of independent states of one n x n grid advances together; S = n * (n/2+1)
// half-spectrum bins and P = n * n grid points per state. `Complex` is how a backend stores a
// complex value: std::complex<double> on the CPU, an interleaved (re, im) pair of doubles on
// CUDA (so a "S complex values" block is 2S doubles there). The state, stage and product
// blocks are state-major (state b at b * S). The four derivative spectra and k1..k4 are
// state-major on the CPU (state b's 4S at b * 4S, so each state's scratch stays together in
// one core's cache) and quantity-major on CUDA (quantity q of state b at (q * batch + b) * S,
// so one batched cuFFT plan maps all of them).
#include <cstdint>

#include "kernels/internal.hpp"
#include "sdkd/error.hpp"

namespace sdkd::kern {

template <class Complex>
struct NSBuffersOf {
  int n = 0;
  int64_t batch = 1;
  bool ifrk4 = true;
  double dt = 0;
  // Per-bin tables (S doubles each), shared by the batch, computed on the CPU for both devices.
  const double* inv_lam = nullptr;  // 1 / lambda (0 at k = 0)
  const double* dkx = nullptr;      // 2 pi k_x (0 on the Nyquist row)
  const double* dky = nullptr;      // 2 pi k_y (0 on the Nyquist column)
  const double* mask = nullptr;     // the 2/3 dealiasing mask, 0 or 1
  const double* c_full = nullptr;   // fno: 1 - dt nu lambda / 2;   ifrk4: e^{-nu lambda dt}
  const double* c_half = nullptr;   // fno: 1 / (1 + dt nu lambda / 2); ifrk4: e^{-nu lambda dt / 2}
  const Complex* f_h = nullptr;     // S: the forcing spectrum, shared by the batch
  // State and scratch, batch times the per-state size given here.
  Complex* w_h = nullptr;        // S: the state (unnormalised rfft2 of w)
  Complex* stage = nullptr;      // S: the RK4 stage argument
  Complex* k = nullptr;          // 4S: k1..k4 (fno uses k1)
  Complex* deriv_h = nullptr;    // 4S: spectra of u, v, w_x, w_y
  double* deriv = nullptr;       // 4P: u, v, w_x, w_y on the grid
  double* product = nullptr;     // P: u.grad(w)
  Complex* product_h = nullptr;  // S

  int64_t bins() const { return int64_t(n) * (n / 2 + 1); }
  int64_t points() const { return int64_t(n) * n; }

  // The six tables from one block of 6S doubles, in the order above.
  void set_tables(const double* t) {
    const int64_t S = bins();
    inv_lam = t, dkx = t + S, dky = t + 2 * S, mask = t + 3 * S, c_full = t + 4 * S, c_half = t + 5 * S;
  }

  // What every entry point checks first; `who` names it ("ns_step (CUDA)").
  void check(const char* who) const {
    SDKD_CHECK(n >= 4 && n % 2 == 0 && batch >= 1, who, ": expected an even grid n >= 4 and batch >= 1, got n ", n,
               ", batch ", batch);
    SDKD_CHECK(inv_lam && dkx && dky && mask && c_full && c_half && f_h && w_h && stage && k && deriv_h && deriv &&
                   product && product_h,
               who, ": a buffer is missing");
  }
};

}  // namespace sdkd::kern
