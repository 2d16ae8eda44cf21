// The Navier-Stokes step on the GPU, for a whole batch of states at once: per tendency, one
// kernel forms the spectra of u, v, w_x, w_y, cuFFT takes them to the grid (one batched Z2D over
// 4 * batch maps), one kernel forms u.grad(w), cuFFT takes it back (D2Z over batch maps), and
// one fused kernel applies forcing and the 2/3 mask and advances the scheme
// (the Crank-Nicolson update, or the next integrating-factor RK4 stage). The expressions follow
// kernels/cpu/ns_solver.cpp term by term so both devices round alike.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fft.hpp"
#include "kernels/cuda/ns_solver.hpp"

namespace sdkd::gpu {

namespace {

struct C {
  double re, im;
};
__device__ __forceinline__ C operator+(C a, C b) { return {a.re + b.re, a.im + b.im}; }
__device__ __forceinline__ C operator-(C a, C b) { return {a.re - b.re, a.im - b.im}; }
__device__ __forceinline__ C operator*(double s, C a) { return {s * a.re, s * a.im}; }
__device__ __forceinline__ C operator*(C a, double s) { return {a.re * s, a.im * s}; }
__device__ __forceinline__ C load(const double* p, int64_t i) {
  const double2 v = reinterpret_cast<const double2*>(p)[i];
  return {v.x, v.y};
}
__device__ __forceinline__ void store(double* p, int64_t i, C v) {
  reinterpret_cast<double2*>(p)[i] = make_double2(v.re, v.im);
}

// Bin i of the batch, read as half of a Hermitian spectrum: the DC and Nyquist columns are
// replaced by their Hermitian part along the rows, (z_r + conj(z_{-r})) / 2. That is what the
// CPU's inverse transform reads (it keeps only the real part of those columns after the
// transform down the rows), and it makes cuFFT's C2R input exactly Hermitian.
__device__ __forceinline__ C hermitian_bin(const double* w_h, int64_t i, int n, int nc, int64_t S) {
  const int64_t j = i % S;
  const int c = int(j % nc);
  const C z = load(w_h, i);
  if (c != 0 && 2 * c != n) return z;
  const int r = int(j / nc), rm = r == 0 ? 0 : n - r;
  const C zm = load(w_h, i - j + int64_t(rm) * nc + c);
  return {0.5 * (z.re + zm.re), 0.5 * (z.im - zm.im)};
}

// deriv_h[q][b] for q = u, v, w_x, w_y, already divided by n^2 (numpy's inverse normalisation).
__global__ void derivatives_kernel(const double* w_h, double* deriv_h, int64_t total, int n, int nc, int64_t S,
                                   const double* inv_lam, const double* dkx, const double* dky, double inv_n2) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % S;
    const C w = hermitian_bin(w_h, i, n, nc, S), psi = w * inv_lam[j];
    const C i_psi{-psi.im, psi.re}, i_w{-w.im, w.re};
    store(deriv_h, i, (dky[j] * i_psi) * inv_n2);             // u = psi_y
    store(deriv_h, total + i, (-dkx[j] * i_psi) * inv_n2);    // v = -psi_x
    store(deriv_h, 2 * total + i, (dkx[j] * i_w) * inv_n2);   // w_x
    store(deriv_h, 3 * total + i, (dky[j] * i_w) * inv_n2);   // w_y
  }
}

__global__ void advection_kernel(const double* deriv, double* product, int64_t total) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < total; p += int64_t(gridDim.x) * blockDim.x) {
    const double u = deriv[p], v = deriv[total + p], wx = deriv[2 * total + p], wy = deriv[3 * total + p];
    product[p] = u * wx + v * wy;
  }
}

__global__ void hermitian_scale_kernel(const double* w_h, double* out, int64_t total, int n, int nc, int64_t S,
                                       double scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    store(out, i, hermitian_bin(w_h, i, n, nc, S) * scale);
}

enum class Update : int { tendency, fno, rk_stage1, rk_stage2, rk_stage3, rk_final };

// k = f_h - mask * product_h, then the scheme's update for this stage (see kernels/cpu/ns_solver.cpp).
__global__ void update_kernel(Update mode, const double* product_h, const double* f_h, const double* mask,
                              const double* c_full, const double* c_half, double dt, int64_t total, int64_t S,
                              double* out, double* w_h, double* stage, double* k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % S;
    const C kn = load(f_h, j) - mask[j] * load(product_h, i);
    const double h = 0.5 * dt;
    switch (mode) {
      case Update::tendency: store(out, i, kn); break;
      case Update::fno:  // (dt N + (1 - dt nu lam / 2) w) / (1 + dt nu lam / 2)
        store(w_h, i, (dt * kn + c_full[j] * load(w_h, i)) * c_half[j]);
        break;
      case Update::rk_stage1:
        store(k, i, kn);
        store(stage, i, c_half[j] * (load(w_h, i) + h * kn));
        break;
      case Update::rk_stage2:
        store(k, total + i, kn);
        store(stage, i, c_half[j] * load(w_h, i) + h * kn);
        break;
      case Update::rk_stage3:
        store(k, 2 * total + i, kn);
        store(stage, i, c_full[j] * load(w_h, i) + dt * c_half[j] * kn);
        break;
      case Update::rk_final: {
        const double sixth = dt / 6.0;
        const C k1 = load(k, i), k2 = load(k, total + i), k3 = load(k, 2 * total + i);
        store(w_h, i,
              c_full[j] * load(w_h, i) + sixth * (c_full[j] * k1 + 2.0 * c_half[j] * (k2 + k3) + kn));
        break;
      }
    }
  }
}

// The tendency of w_in followed by the update `mode`.
void tendency_then(const ExecContext& ctx, const NSBuffers& b, const double* w_in, Update mode, double* out) {
  const int n = b.n, nc = n / 2 + 1;
  const int64_t S = b.bins(), total = b.batch * S, points = b.batch * int64_t(n) * n;
  const cudaStream_t stream = stream_of(ctx);
  derivatives_kernel<<<grid_for(total), kThreads, 0, stream>>>(w_in, b.deriv_h, total, n, nc, S, b.inv_lam, b.dkx,
                                                               b.dky, 1.0 / (double(n) * double(n)));
  SDKD_CUDA_LAUNCH_CHECK();
  irfft2_f64_raw_destructive(ctx, b.deriv_h, b.deriv, 4 * b.batch, n, n);
  advection_kernel<<<grid_for(points), kThreads, 0, stream>>>(b.deriv, b.product, points);
  SDKD_CUDA_LAUNCH_CHECK();
  rfft2_f64_raw(ctx, b.product, b.product_h, b.batch, n, n);
  update_kernel<<<grid_for(total), kThreads, 0, stream>>>(mode, b.product_h, b.f_h, b.mask, b.c_full, b.c_half, b.dt,
                                                          total, S, out, b.w_h, b.stage, b.k);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace

void ns_step(const ExecContext& ctx, const NSBuffers& b) {
  b.check("ns_step (CUDA)");
  if (!b.ifrk4) {
    tendency_then(ctx, b, b.w_h, Update::fno, nullptr);
    return;
  }
  tendency_then(ctx, b, b.w_h, Update::rk_stage1, nullptr);
  tendency_then(ctx, b, b.stage, Update::rk_stage2, nullptr);
  tendency_then(ctx, b, b.stage, Update::rk_stage3, nullptr);
  tendency_then(ctx, b, b.stage, Update::rk_final, nullptr);
}

void ns_tendency(const ExecContext& ctx, const NSBuffers& b, const double* w_h_in, double* out) {
  b.check("ns_tendency (CUDA)");
  SDKD_CHECK(out != nullptr && out != b.k && out != b.deriv_h && out != b.product_h,
             "ns_tendency (CUDA): the output must not be a scratch buffer");
  tendency_then(ctx, b, w_h_in, Update::tendency, out);
}

void ns_vorticity(const ExecContext& ctx, const NSBuffers& b, double* w) {
  b.check("ns_vorticity (CUDA)");
  const int n = b.n, nc = n / 2 + 1;
  const int64_t S = b.bins(), total = b.batch * S;
  hermitian_scale_kernel<<<grid_for(total), kThreads, 0, stream_of(ctx)>>>(b.w_h, b.deriv_h, total, n, nc, S,
                                                                              1.0 / (double(n) * double(n)));
  SDKD_CUDA_LAUNCH_CHECK();
  irfft2_f64_raw_destructive(ctx, b.deriv_h, w, b.batch, n, n);
}

int64_t ns_free_device_bytes(const ExecContext& ctx) {
  (void)ctx;  // the engine made ctx.device current; cudaMemGetInfo reports that device
  size_t free_b = 0, total_b = 0;
  SDKD_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return int64_t(free_b);
}

}  // namespace sdkd::gpu
