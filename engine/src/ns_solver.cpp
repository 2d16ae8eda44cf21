// The pseudo-spectral Navier-Stokes stepper (both schemes). Double precision throughout: our
// double FFT is faster here than kissfft's float one (docs/ measure both), and double keeps
// the physics checks (exact decay factors, budgets) at round-off level.
//
// On a CUDA device (NSSolver's last argument) the state and every step live on the GPU
// (kernels/cuda/ns_solver.hpp); the tables below and the initial spectrum are still computed
// here on the CPU and uploaded, so both devices start from identical numbers.
#include <cmath>
#include <cstring>

#include "sdkd/ns_solver.hpp"

#include "dispatch.hpp"
#include "kernels/cpu/fft.hpp"
#include "kernels/cuda/ns_solver.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd {

using cpu::FftNorm;
using cplx = std::complex<double>;

NSScheme parse_ns_scheme(const std::string& name) {
  if (name == "fno") return NSScheme::fno;
  if (name == "ifrk4") return NSScheme::ifrk4;
  throw Error(str_cat("Navier-Stokes scheme: expected \"ifrk4\" or \"fno\", got \"", name, "\""));
}

// Device copies of the state, the tables and the scratch of one GPU solver.
struct NSSolver::GpuState {
  Tensor tables, f_h, w_h, stage, k, deriv_h, deriv, product, product_h;
  gpu::NSBuffers buf;
};

namespace {

Tensor upload(const double* p, size_t count, Device device) {
  return Tensor::from_vector(std::vector<double>(p, p + count), {int64_t(count)}).to(device);
}

Tensor upload(const std::vector<cplx>& v, Device device) {
  return upload(reinterpret_cast<const double*>(v.data()), 2 * v.size(), device);
}

void download(const Tensor& t, void* dst) {
  const std::vector<double> host = t.to_double_vector();
  std::memcpy(dst, host.data(), host.size() * sizeof(double));
}

}  // namespace

NSSolver::~NSSolver() = default;
NSSolver::NSSolver(NSSolver&&) noexcept = default;
NSSolver& NSSolver::operator=(NSSolver&&) noexcept = default;

NSSolver::NSSolver(int n, double viscosity, double dt, NSScheme scheme, const std::vector<double>& forcing,
                   Device device)
    : n_(n), nc_(n / 2 + 1), nu_(viscosity), dt_(dt), scheme_(scheme), device_(device) {
  SDKD_CHECK(n >= 4 && n % 2 == 0, "NSSolver: grid size must be even and >= 4, got ", n);
  SDKD_CHECK(viscosity >= 0 && std::isfinite(viscosity), "NSSolver: viscosity must be >= 0, got ", viscosity);
  SDKD_CHECK(dt > 0 && std::isfinite(dt), "NSSolver: dt must be > 0, got ", dt);
  SDKD_CHECK(forcing.size() == size_t(n) * n, "NSSolver: forcing must have n*n = ", size_t(n) * n,
             " values, got ", forcing.size());
  const size_t S = size_t(n_) * nc_;
  w_h_.assign(S, 0.0);
  f_h_.resize(S);
  cpu::rfft2(forcing.data(), f_h_.data(), 1, n_, n_, FftNorm::backward);
  lam_.resize(S);
  inv_lam_.resize(S);
  dkx_.resize(S);
  dky_.resize(S);
  mask_.resize(S);
  for (int r = 0; r < n_; ++r) {
    for (int c = 0; c < nc_; ++c) {
      const size_t i = size_t(r) * nc_ + c;
      const double kxr = kx(r), kyc = ky(c);
      lam_[i] = 4.0 * M_PI * M_PI * (kxr * kxr + kyc * kyc);
      inv_lam_[i] = lam_[i] > 0 ? 1.0 / lam_[i] : 0.0;
      dkx_[i] = 2.0 * M_PI * (r == n_ / 2 ? 0.0 : kxr);
      dky_[i] = 2.0 * M_PI * (c == n_ / 2 ? 0.0 : kyc);
      // FNO: |k| <= (2/3) k_max with k_max = n/2, i.e. 3|k| <= n.
      mask_[i] = (3 * std::abs(kx(r)) <= n_ && 3 * ky(c) <= n_) ? 1.0 : 0.0;
    }
  }
  if (scheme_ == NSScheme::fno) {
    cn_keep_.resize(S);
    cn_div_.resize(S);
    for (size_t i = 0; i < S; ++i) {
      const double a = 0.5 * dt_ * nu_ * lam_[i];
      cn_keep_[i] = 1.0 - a;
      cn_div_[i] = 1.0 / (1.0 + a);
    }
  } else {
    ef_full_.resize(S);
    ef_half_.resize(S);
    for (size_t i = 0; i < S; ++i) {
      ef_full_[i] = std::exp(-nu_ * lam_[i] * dt_);
      ef_half_[i] = std::exp(-0.5 * nu_ * lam_[i] * dt_);
    }
  }
  if (device_.is_cuda()) {
    init_gpu();
    return;
  }
  deriv_h_.resize(4 * S);
  deriv_.resize(4 * size_t(n_) * n_);
  product_.resize(size_t(n_) * n_);
  product_h_.resize(S);
}

void NSSolver::init_gpu() {
  require_cuda("the Navier-Stokes solver", device_.index);
  const size_t S = size_t(n_) * nc_, P = size_t(n_) * n_;
  const bool rk = scheme_ == NSScheme::ifrk4;
  const std::vector<double>* parts[6] = {&inv_lam_, &dkx_, &dky_, &mask_, rk ? &ef_full_ : &cn_keep_,
                                         rk ? &ef_half_ : &cn_div_};
  std::vector<double> tables;
  tables.reserve(6 * S);
  for (const auto* part : parts) tables.insert(tables.end(), part->begin(), part->end());
  auto g = std::make_unique<GpuState>();
  g->tables = upload(tables.data(), tables.size(), device_);
  g->f_h = upload(f_h_, device_);
  g->w_h = upload(w_h_, device_);
  g->stage = make_tensor({int64_t(2 * S)}, DType::f64, device_);
  g->k = make_tensor({int64_t(4 * 2 * S)}, DType::f64, device_);
  g->deriv_h = make_tensor({int64_t(4 * 2 * S)}, DType::f64, device_);
  g->deriv = make_tensor({int64_t(4 * P)}, DType::f64, device_);
  g->product = make_tensor({int64_t(P)}, DType::f64, device_);
  g->product_h = make_tensor({int64_t(2 * S)}, DType::f64, device_);
  gpu::NSBuffers& b = g->buf;
  b.n = n_;
  b.batch = 1;
  b.ifrk4 = rk;
  b.dt = dt_;
  const double* t = g->tables.data<double>();
  b.inv_lam = t;
  b.dkx = t + S;
  b.dky = t + 2 * S;
  b.mask = t + 3 * S;
  b.c_full = t + 4 * S;
  b.c_half = t + 5 * S;
  b.f_h = g->f_h.data<double>();
  b.w_h = g->w_h.data<double>();
  b.stage = g->stage.data<double>();
  b.k = g->k.data<double>();
  b.deriv_h = g->deriv_h.data<double>();
  b.deriv = g->deriv.data<double>();
  b.product = g->product.data<double>();
  b.product_h = g->product_h.data<double>();
  gpu_ = std::move(g);
}

const std::vector<cplx>& NSSolver::spectrum() const {
  if (gpu_) download(gpu_->w_h, w_h_.data());
  return w_h_;
}

void NSSolver::set_vorticity(const double* w) {
  cpu::rfft2(w, w_h_.data(), 1, n_, n_, FftNorm::backward);
  if (gpu_) gpu_->w_h.copy_(upload(w_h_, Device{}));
  steps_ = 0;
}

void NSSolver::vorticity(double* w) const {
  if (gpu_) {
    Tensor grid = make_tensor({int64_t(n_) * n_}, DType::f64, device_);
    SDKD_CUDA_ONLY(gpu::ns_vorticity(detail::cuda_context(grid), gpu_->buf, grid.data<double>()));
    download(grid, w);
    return;
  }
  cpu::irfft2(w_h_.data(), w, 1, n_, n_, FftNorm::backward);
}

void NSSolver::tendency(const std::vector<cplx>& w_h, std::vector<cplx>& out) {
  if (gpu_) {
    const size_t S = size_t(n_) * nc_;
    SDKD_CHECK(w_h.size() == S, "NSSolver::tendency: expected ", S, " half-spectrum values, got ", w_h.size());
    gpu_->stage.copy_(upload(w_h, Device{}));
    Tensor result = make_tensor({int64_t(2 * S)}, DType::f64, device_);
    SDKD_CUDA_ONLY(gpu::ns_tendency(detail::cuda_context(result), gpu_->buf, gpu_->stage.data<double>(), result.data<double>()));
    out.resize(S);
    download(result, out.data());
    return;
  }
  const size_t S = size_t(n_) * nc_, P = size_t(n_) * n_;
  cplx* u_h = deriv_h_.data();
  cplx* v_h = u_h + S;
  cplx* wx_h = v_h + S;
  cplx* wy_h = wx_h + S;
  for (size_t i = 0; i < S; ++i) {
    const cplx w = w_h[i], psi = w * inv_lam_[i];
    const cplx i_psi(-psi.imag(), psi.real()), i_w(-w.imag(), w.real());  // i * psi, i * w
    u_h[i] = dky_[i] * i_psi;   // u = psi_y
    v_h[i] = -dkx_[i] * i_psi;  // v = -psi_x
    wx_h[i] = dkx_[i] * i_w;
    wy_h[i] = dky_[i] * i_w;
  }
  cpu::irfft2(deriv_h_.data(), deriv_.data(), 4, n_, n_, FftNorm::backward);
  const double* u = deriv_.data();
  const double* v = u + P;
  const double* wx = v + P;
  const double* wy = wx + P;
  for (size_t p = 0; p < P; ++p) product_[p] = u[p] * wx[p] + v[p] * wy[p];
  cpu::rfft2(product_.data(), product_h_.data(), 1, n_, n_, FftNorm::backward);
  out.resize(S);
  for (size_t i = 0; i < S; ++i) out[i] = f_h_[i] - mask_[i] * product_h_[i];
}

void NSSolver::step() {
  if (gpu_) SDKD_CUDA_ONLY(gpu::ns_step(detail::cuda_context(device_), gpu_->buf));
  else if (scheme_ == NSScheme::fno) step_fno();
  else step_ifrk4();
  ++steps_;
}

void NSSolver::advance(int64_t steps) {
  for (int64_t s = 0; s < steps; ++s) step();
}

// FNO: w' = (dt N(w) + (1 - dt nu lam / 2) w) / (1 + dt nu lam / 2).
void NSSolver::step_fno() {
  tendency(w_h_, k1_);
  for (size_t i = 0; i < w_h_.size(); ++i) w_h_[i] = (dt_ * k1_[i] + cn_keep_[i] * w_h_[i]) * cn_div_[i];
}

// Integrating-factor RK4 on v = e^{nu lam t} w, written back in w (E = e^{-nu lam dt},
// E2 = e^{-nu lam dt/2}): k1 = N(w), k2 = N(E2 (w + dt/2 k1)), k3 = N(E2 w + dt/2 k2),
// k4 = N(E w + dt E2 k3), w' = E w + dt/6 (E k1 + 2 E2 (k2 + k3) + k4).
void NSSolver::step_ifrk4() {
  const size_t S = w_h_.size();
  const double h = 0.5 * dt_;
  stage_.resize(S);
  tendency(w_h_, k1_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_half_[i] * (w_h_[i] + h * k1_[i]);
  tendency(stage_, k2_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_half_[i] * w_h_[i] + h * k2_[i];
  tendency(stage_, k3_);
  for (size_t i = 0; i < S; ++i) stage_[i] = ef_full_[i] * w_h_[i] + dt_ * ef_half_[i] * k3_[i];
  tendency(stage_, k4_);
  const double sixth = dt_ / 6.0;
  for (size_t i = 0; i < S; ++i) {
    w_h_[i] = ef_full_[i] * w_h_[i] +
              sixth * (ef_full_[i] * k1_[i] + 2.0 * ef_half_[i] * (k2_[i] + k3_[i]) + k4_[i]);
  }
}

}  // namespace sdkd
