// The pseudo-spectral Navier-Stokes solver over a batch of trajectories (both schemes). Double
// precision throughout: our double FFT is 2.3-3x kissfft's double one (docs/PERFORMANCE.md,
// the late Intel run of 2026-12-07), and double keeps the physics checks (exact decay factors, budgets) at round-off level.
//
// The coefficient tables and the initial spectra are computed here on the CPU for either
// device; the step itself is a kernel: kernels/cpu/ns_solver.hpp on the host, or, for a CUDA
// solver, kernels/cuda/ns_solver.hpp on the device's stream with the state kept on the GPU.
#include "sdkd/ns_solver.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dispatch.hpp"
#include "kernels/cpu/fft.hpp"
#include "kernels/cpu/ns_solver.hpp"
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

// The tables (shared by the batch) and the scratch of one solver: host vectors for a CPU
// solver, device tensors for a CUDA one. The CPU state itself is NSSolver::w_h_. The kernels'
// views are rebuilt on every call, so a moved solver never holds stale pointers.
struct NSSolver::Buffers {
  int n = 0;
  int64_t batch = 1;
  bool ifrk4 = true;
  double dt = 0;
  // Host, both devices: inv_lam, dkx, dky, mask, c_full, c_half (S each), the forcing spectrum.
  std::vector<double> tables;
  std::vector<cplx> f_h;
  // CPU scratch.
  std::vector<cplx> stage, k, deriv_h, product_h;
  std::vector<double> deriv, product;
  // CUDA copies of the tables and the forcing, the state and the scratch.
  Tensor d_tables, d_f_h, d_w_h, d_stage, d_k, d_deriv_h, d_deriv, d_product, d_product_h;

  // The scheme's settings, the part of the kernels' view both devices share.
  template <class Views>
  Views scheme() const {
    Views b;
    b.n = n;
    b.batch = batch;
    b.ifrk4 = ifrk4;
    b.dt = dt;
    return b;
  }

  cpu::NSBuffers host(std::vector<cplx>& w_h) {
    auto b = scheme<cpu::NSBuffers>();
    b.set_tables(tables.data());
    b.f_h = f_h.data();
    b.w_h = w_h.data();
    b.stage = stage.data();
    b.k = k.data();
    b.deriv_h = deriv_h.data();
    b.deriv = deriv.data();
    b.product = product.data();
    b.product_h = product_h.data();
    return b;
  }

  gpu::NSBuffers device() {
    auto b = scheme<gpu::NSBuffers>();
    b.set_tables(d_tables.data<double>());
    b.f_h = d_f_h.data<double>();
    b.w_h = d_w_h.data<double>();
    b.stage = d_stage.data<double>();
    b.k = d_k.data<double>();
    b.deriv_h = d_deriv_h.data<double>();
    b.deriv = d_deriv.data<double>();
    b.product = d_product.data<double>();
    b.product_h = d_product_h.data<double>();
    return b;
  }
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
                   Device device, int64_t batch)
    : n_(n), nc_(n / 2 + 1), batch_(batch), nu_(viscosity), dt_(dt), scheme_(scheme), device_(device) {
  SDKD_CHECK(n >= 4 && n % 2 == 0, "NSSolver: grid size must be even and >= 4, got ", n);
  SDKD_CHECK(batch >= 1, "NSSolver: batch must be >= 1, got ", batch);
  SDKD_CHECK(viscosity >= 0 && std::isfinite(viscosity), "NSSolver: viscosity must be >= 0, got ", viscosity);
  SDKD_CHECK(dt > 0 && std::isfinite(dt), "NSSolver: dt must be > 0, got ", dt);
  SDKD_CHECK(forcing.size() == size_t(n) * n, "NSSolver: forcing must have n*n = ", size_t(n) * n,
             " values, got ", forcing.size());
  const size_t S = size_t(n_) * nc_, P = size_t(n_) * n_, B = size_t(batch_);
  auto buf = std::make_unique<Buffers>();
  buf->n = n_;
  buf->batch = batch_;
  buf->ifrk4 = scheme_ == NSScheme::ifrk4;
  buf->dt = dt_;
  buf->f_h.resize(S);
  cpu::rfft2(forcing.data(), buf->f_h.data(), 1, n_, n_, FftNorm::backward);
  buf->tables.resize(6 * S);
  double* inv_lam = buf->tables.data();
  double* dkx = inv_lam + S;
  double* dky = dkx + S;
  double* mask = dky + S;
  double* c_full = mask + S;
  double* c_half = c_full + S;
  for (int r = 0; r < n_; ++r) {
    for (int c = 0; c < nc_; ++c) {
      const size_t i = size_t(r) * nc_ + c;
      const double kxr = kx(r), kyc = ky(c);
      const double lam = 4.0 * M_PI * M_PI * (kxr * kxr + kyc * kyc);
      inv_lam[i] = lam > 0 ? 1.0 / lam : 0.0;
      dkx[i] = 2.0 * M_PI * (r == n_ / 2 ? 0.0 : kxr);
      dky[i] = 2.0 * M_PI * (c == n_ / 2 ? 0.0 : kyc);
      // FNO: |k| <= (2/3) k_max with k_max = n/2, i.e. 3|k| <= n.
      mask[i] = (3 * std::abs(kx(r)) <= n_ && 3 * ky(c) <= n_) ? 1.0 : 0.0;
      if (scheme_ == NSScheme::fno) {
        const double a = 0.5 * dt_ * nu_ * lam;
        c_full[i] = 1.0 - a;
        c_half[i] = 1.0 / (1.0 + a);
      } else {
        c_full[i] = std::exp(-nu_ * lam * dt_);
        c_half[i] = std::exp(-0.5 * nu_ * lam * dt_);
      }
    }
  }
  w_h_.assign(B * S, 0.0);
  if (device_.is_cuda()) {
    require_cuda("the Navier-Stokes solver", device_.index);
    auto scratch = [&](size_t doubles) { return make_tensor({int64_t(doubles)}, DType::f64, device_); };
    buf->d_tables = upload(buf->tables.data(), buf->tables.size(), device_);
    buf->d_f_h = upload(buf->f_h, device_);
    buf->d_w_h = upload(w_h_, device_);
    buf->d_stage = scratch(B * 2 * S);
    buf->d_k = scratch(4 * B * 2 * S);
    buf->d_deriv_h = scratch(4 * B * 2 * S);
    buf->d_deriv = scratch(4 * B * P);
    buf->d_product = scratch(B * P);
    buf->d_product_h = scratch(B * 2 * S);
  } else {
    buf->stage.resize(B * S);
    buf->k.resize(4 * B * S);
    buf->deriv_h.resize(4 * B * S);
    buf->deriv.resize(4 * B * P);
    buf->product.resize(B * P);
    buf->product_h.resize(B * S);
  }
  buf_ = std::move(buf);
}

void NSSolver::check_size(size_t got, size_t per, const char* what) const {
  SDKD_CHECK(got == size_t(batch_) * per, "NSSolver::", what, ": expected batch * ", per, " = ", size_t(batch_) * per,
             " values for a batch of ", batch_, ", got ", got);
}

const std::vector<cplx>& NSSolver::spectrum() const {
  if (device_.is_cuda()) download(buf_->d_w_h, w_h_.data());
  return w_h_;
}

void NSSolver::set_vorticity(const double* w) {
  SDKD_CHECK(w != nullptr, "NSSolver::set_vorticity: null input");
  cpu::rfft2(w, w_h_.data(), batch_, n_, n_, FftNorm::backward);
  if (device_.is_cuda()) buf_->d_w_h.copy_(upload(w_h_, Device{}));
  steps_ = 0;
}

void NSSolver::vorticity(double* w) const {
  SDKD_CHECK(w != nullptr, "NSSolver::vorticity: null output");
  if (device_.is_cuda()) {
    Tensor grid = make_tensor({batch_ * n_ * n_}, DType::f64, device_);
    SDKD_CUDA_ONLY(gpu::ns_vorticity(detail::cuda_context(grid), buf_->device(), grid.data<double>()));
    download(grid, w);
    return;
  }
  cpu::irfft2(w_h_.data(), w, batch_, n_, n_, FftNorm::backward);
}

void NSSolver::tendency(const std::vector<cplx>& w_h, std::vector<cplx>& out) {
  const size_t S = size_t(n_) * nc_;
  check_size(w_h.size(), S, "tendency");
  out.resize(w_h.size());
  if (device_.is_cuda()) {
    buf_->d_stage.copy_(upload(w_h, Device{}));
    Tensor result = make_tensor({int64_t(2 * w_h.size())}, DType::f64, device_);
    SDKD_CUDA_ONLY(gpu::ns_tendency(detail::cuda_context(result), buf_->device(), buf_->d_stage.data<double>(),
                                    result.data<double>()));
    download(result, out.data());
    return;
  }
  cpu::ns_tendency(buf_->host(w_h_), w_h.data(), out.data());
}

void NSSolver::step() {
  if (device_.is_cuda()) SDKD_CUDA_ONLY(gpu::ns_step(detail::cuda_context(device_), buf_->device()));
  else cpu::ns_step(buf_->host(w_h_));
  ++steps_;
}

void NSSolver::advance(int64_t steps) {
  for (int64_t s = 0; s < steps; ++s) step();
}

int64_t NSSolver::bytes_per_trajectory(int n, Device device) {
  SDKD_CHECK(n >= 4 && n % 2 == 0, "NSSolver::bytes_per_trajectory: grid size must be even and >= 4, got ", n);
  const int64_t S = int64_t(n) * (n / 2 + 1), P = int64_t(n) * n;
  if (!device.is_cuda()) return (11 * S) * 16 + (5 * P) * 8;  // state, stage, k1..k4, 4 + 1 spectra; 5 grids
  // Doubles: w_h, stage (2S each), k1..k4 and the 4 derivative spectra (8S each), product_h (2S),
  // 5 grids; cuFFT's work areas for the two batched plans taken as large as their complex data
  // (10S); the caching allocator rounds a block up by at most 1/8.
  const int64_t doubles = 22 * S + 5 * P + 10 * S;
  return doubles * 8 * 9 / 8;
}

int64_t NSSolver::max_batch(int n, Device device, double fraction) {
  SDKD_CHECK(fraction > 0 && fraction <= 1, "NSSolver::max_batch: fraction must be in (0, 1], got ", fraction);
  int64_t available = 0;
  if (device.is_cuda()) {
    require_cuda("the Navier-Stokes solver", device.index);
    [[maybe_unused]] const CudaMemoryStats m = cuda_memory_stats(device.index);  // unused without CUDA
    SDKD_CUDA_ONLY(available = gpu::ns_free_device_bytes(detail::cuda_context(device)) + (m.reserved - m.allocated));
  } else {
    available = int64_t(::sysconf(_SC_AVPHYS_PAGES)) * int64_t(::sysconf(_SC_PAGESIZE));
  }
  return std::max<int64_t>(1, int64_t(fraction * double(available)) / bytes_per_trajectory(n, device));
}

}  // namespace sdkd
