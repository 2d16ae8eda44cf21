// The CPU Navier-Stokes step: per state, the spectra of u, v, w_x, w_y, one batched inverse FFT
// of the four, u.grad(w) on the grid, one forward FFT, then forcing, the 2/3 mask and the
// scheme's update. The expressions are those of the one-trajectory solver this replaced, term
// by term, so existing data files stay byte-identical.
#include "kernels/cpu/ns_solver.hpp"

#include <cmath>
#include <algorithm>
#include <omp.h>

#include "kernels/cpu/fft.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {

namespace {

using cplx = std::complex<double>;

// The buffers of state s alone: a batch of one whose pointers are offset into the batch.
NSBuffers one_state(const NSBuffers& b, int64_t s) {
  const size_t S = size_t(b.bins()), P = size_t(b.points()), i = size_t(s);
  NSBuffers o = b;
  o.batch = 1;
  o.w_h = b.w_h + i * S;
  o.stage = b.stage + i * S;
  o.k = b.k + i * 4 * S;
  o.deriv_h = b.deriv_h + i * 4 * S;
  o.deriv = b.deriv + i * 4 * P;
  o.product = b.product + i * P;
  o.product_h = b.product_h + i * S;
  return o;
}

// out = f_h - mask * FFT(u.grad w) for one state.
void tendency_one(const NSBuffers& b, const cplx* w_h, cplx* out) {
  const size_t S = size_t(b.bins()), P = size_t(b.points());
  cplx* u_h = b.deriv_h;
  cplx* v_h = u_h + S;
  cplx* wx_h = v_h + S;
  cplx* wy_h = wx_h + S;
  for (size_t i = 0; i < S; ++i) {
    const cplx w = w_h[i], psi = w * b.inv_lam[i];
    const cplx i_psi(-psi.imag(), psi.real()), i_w(-w.imag(), w.real());  // i * psi, i * w
    u_h[i] = b.dky[i] * i_psi;   // u = psi_y
    v_h[i] = -b.dkx[i] * i_psi;  // v = -psi_x
    wx_h[i] = b.dkx[i] * i_w;
    wy_h[i] = b.dky[i] * i_w;
  }
  irfft2(b.deriv_h, b.deriv, 4, b.n, b.n, FftNorm::backward);
  const double* u = b.deriv;
  const double* v = u + P;
  const double* wx = v + P;
  const double* wy = wx + P;
  for (size_t p = 0; p < P; ++p) b.product[p] = u[p] * wx[p] + v[p] * wy[p];
  rfft2(b.product, b.product_h, 1, b.n, b.n, FftNorm::backward);
  for (size_t i = 0; i < S; ++i) out[i] = b.f_h[i] - b.mask[i] * b.product_h[i];
}

// FNO: w' = (dt N(w) + (1 - dt nu lam / 2) w) / (1 + dt nu lam / 2).
void step_fno(const NSBuffers& b) {
  const size_t S = size_t(b.bins());
  cplx* k1 = b.k;
  tendency_one(b, b.w_h, k1);
  for (size_t i = 0; i < S; ++i) b.w_h[i] = (b.dt * k1[i] + b.c_full[i] * b.w_h[i]) * b.c_half[i];
}

// Integrating-factor RK4 on v = e^{nu lam t} w, written back in w (E = e^{-nu lam dt},
// E2 = e^{-nu lam dt/2}): k1 = N(w), k2 = N(E2 (w + dt/2 k1)), k3 = N(E2 w + dt/2 k2),
// k4 = N(E w + dt E2 k3), w' = E w + dt/6 (E k1 + 2 E2 (k2 + k3) + k4).
void step_ifrk4(const NSBuffers& b) {
  const size_t S = size_t(b.bins());
  const double dt = b.dt, h = 0.5 * dt;
  const double* E = b.c_full;
  const double* E2 = b.c_half;
  cplx* w = b.w_h;
  cplx* st = b.stage;
  cplx* k1 = b.k;
  cplx* k2 = k1 + S;
  cplx* k3 = k2 + S;
  cplx* k4 = k3 + S;
  tendency_one(b, w, k1);
  for (size_t i = 0; i < S; ++i) st[i] = E2[i] * (w[i] + h * k1[i]);
  tendency_one(b, st, k2);
  for (size_t i = 0; i < S; ++i) st[i] = E2[i] * w[i] + h * k2[i];
  tendency_one(b, st, k3);
  for (size_t i = 0; i < S; ++i) st[i] = E[i] * w[i] + dt * E2[i] * k3[i];
  tendency_one(b, st, k4);
  const double sixth = dt / 6.0;
  for (size_t i = 0; i < S; ++i) w[i] = E[i] * w[i] + sixth * (E[i] * k1[i] + 2.0 * E2[i] * (k2[i] + k3[i]) + k4[i]);
}

// Runs fn(state buffers, s) for every state: threads over states, one state per thread at a
// time (its ~40 n^2 bytes of scratch stay in that core's cache for the whole step).
// A step's floating-point work: about a dozen 2D FFTs of the grid per state (RK4's four
// tendencies), 5 n^2 log2(n^2) each.
double step_flops(const NSBuffers& b) {
  const double cells = double(b.n) * double(b.n);
  return double(b.batch) * 12.0 * 5.0 * cells * std::log2(std::max(cells, 2.0));
}

template <class Fn>
void over_states(const NSBuffers& b, Fn fn) {
#pragma omp parallel for schedule(static) if (b.batch > 1 && threads_pay_flops(step_flops(b)))
  for (int64_t s = 0; s < b.batch; ++s) fn(one_state(b, s), s);
}

}  // namespace

void ns_step(const NSBuffers& b) {
  b.check("ns_step (CPU)");
  over_states(b, [](const NSBuffers& one, int64_t) { one.ifrk4 ? step_ifrk4(one) : step_fno(one); });
}

void ns_tendency(const NSBuffers& b, const cplx* w_h_in, cplx* out) {
  b.check("ns_tendency (CPU)");
  SDKD_CHECK(w_h_in != nullptr && out != nullptr, "ns_tendency (CPU): null input or output");
  const size_t S = size_t(b.bins());
  over_states(b, [&](const NSBuffers& one, int64_t s) { tendency_one(one, w_h_in + size_t(s) * S, out + size_t(s) * S); });
}

void ns_vorticity(const NSBuffers& b, double* w) {
  b.check("ns_vorticity (CPU)");
  irfft2(b.w_h, w, b.batch, b.n, b.n, FftNorm::backward);
}

}  // namespace sdkd::cpu
