#include "sdkd/spectral_loss.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>

#include "dispatch.hpp"
#include "kernels/cpu/fft.hpp"
#include "kernels/cpu/spectral_loss.hpp"
#include "kernels/cuda/fft.hpp"
#include "kernels/cuda/spectral_loss.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"

// The backward pass, derived. Write F for the orthonormal rfft2 as a real-linear map from
// R^{HW} to the half spectrum, F_k(x) = (1/sqrt(HW)) sum_m x_m e^{-2 pi i k.m}. With
// D = F(s) - F(t) and c_b = weight_b / numel,
//   dL/ds_m = sum_k c_{b(k)} w_k d|D_k|^2/ds_m = sum_k 2 c_{b(k)} w_k Re(conj(D_k) F_k(e_m))
//           = Re( (1/sqrt(HW)) sum_k w_k G_k e^{+2 pi i k.m} ),   G_k = 2 c_{b(k)} D_k.
// The orthonormal irfft2 of a half spectrum G is exactly that last expression: it adds the
// unstored conjugate bins (weight 2 on the doubled columns) and reads only the real part of
// the self-conjugate columns (weight 1), for any G, Hermitian or not. So the kernel writes
// G = 2 c_b D (dL/dS_k / w_k) and the spatial gradient is irfft2_ortho(G). The tests check it
// against central finite differences in float64.
//
// On CUDA (float32) the same steps run on the device: cuFFT for both spectra, the fused band
// kernel (kernels/cuda/spectral_loss.hpp) for the band sums and G in one pass, and cuFFT's
// inverse for the spatial gradient, with the upstream gradient read on the device (no sync in
// the backward). The band sums come back to the host (the result reports them per band).
// One graph on both devices: the same Node, whose backward runs the inverse transform of the
// device the gradient spectrum lives on.

namespace sdkd {

int band_count(const BandSpec& spec) {
  for (size_t i = 0; i < spec.cutoffs.size(); ++i) {
    const double c = spec.cutoffs[i];
    SDKD_CHECK(std::isfinite(c) && c > 0, "spectral bands: cutoff ", i, " is ", c, ", expected a finite value > 0");
    SDKD_CHECK(i == 0 || c > spec.cutoffs[i - 1], "spectral bands: cutoffs must be strictly increasing, got ",
               spec.cutoffs[i - 1], " then ", c);
  }
  return int(spec.cutoffs.size()) + 1;
}

double normalised_wavenumber(int64_t r, int64_t kx, int64_t H, int64_t W) {
  const int64_t ky = r < (H + 1) / 2 ? r : r - H;
  const double y = double(ky) / (0.5 * double(H)), x = double(kx) / (0.5 * double(W));
  return std::sqrt(y * y + x * x);
}

std::vector<int32_t> band_index(const BandSpec& spec, int64_t H, int64_t W) {
  const int K = band_count(spec);
  SDKD_CHECK(H >= 1 && W >= 1, "spectral bands: expected H, W >= 1, got ", H, " x ", W);
  const int64_t Wc = W / 2 + 1;
  std::vector<int32_t> band(size_t(H * Wc));
  for (int64_t r = 0; r < H; ++r)
    for (int64_t kx = 0; kx < Wc; ++kx) {
      const double rho = normalised_wavenumber(r, kx, H, W);
      int b = 0;
      while (b < K - 1 && rho > spec.cutoffs[size_t(b)] + 1e-12) ++b;
      band[size_t(r * Wc + kx)] = int32_t(b);
    }
  return band;
}

int half_spectrum_weight(int64_t kx, int64_t W) { return cpu::half_spectrum_column_weight(kx, W); }

std::vector<int64_t> band_bin_counts(const BandSpec& spec, int64_t H, int64_t W) {
  const std::vector<int32_t> band = band_index(spec, H, W);
  std::vector<int64_t> count(size_t(band_count(spec)), 0);
  const int64_t Wc = W / 2 + 1;
  for (size_t i = 0; i < band.size(); ++i) count[size_t(band[i])] += half_spectrum_weight(int64_t(i) % Wc, W);
  return count;
}

namespace {

std::vector<double> base_weights(const SpectralKDOptions& o, int K) {
  if (!o.band_weights.empty()) {
    SDKD_CHECK(int(o.band_weights.size()) == K, "spectral_kd_loss: band_weights has ", o.band_weights.size(),
               " entries but the cutoffs make ", K, " bands");
    for (double w : o.band_weights)
      SDKD_CHECK(std::isfinite(w) && w >= 0, "spectral_kd_loss: band weight ", w, " must be finite and >= 0");
    return o.band_weights;
  }
  SDKD_CHECK(std::isfinite(o.alpha) && o.alpha >= 0, "spectral_kd_loss: alpha = ", o.alpha, " must be finite and >= 0");
  std::vector<double> w(size_t(K), 1.0);
  w[0] = o.alpha;
  return w;
}

// a_b of the header: teacher band energy per bin to the power -gamma, normalised.
std::vector<double> adaptive_factors(const std::vector<double>& energy, const std::vector<int64_t>& bins, int64_t maps,
                                     double gamma) {
  SDKD_CHECK(std::isfinite(gamma), "spectral_kd_loss: gamma = ", gamma, " must be finite");
  const size_t K = energy.size();
  std::vector<double> per_bin(K, 0.0), a(K, 0.0);
  double top = 0;
  int nonempty = 0;
  for (size_t b = 0; b < K; ++b) {
    if (bins[b] == 0) continue;
    ++nonempty;
    per_bin[b] = energy[b] / (double(maps) * double(bins[b]));
    top = std::max(top, per_bin[b]);
  }
  double total = 0;
  for (size_t b = 0; b < K; ++b) {
    if (bins[b] == 0) continue;
    a[b] = top > 0 ? std::pow(std::max(per_bin[b], 1e-12 * top), -gamma) : 1.0;
    total += a[b];
  }
  for (double& v : a) v *= double(nonempty) / total;
  return a;
}

// Saves the gradient spectrum G (interleaved complex, shape (maps, H, W/2+1, 2)) on the
// loss's device; dx = irfft2_ortho(G) * grad_out.
struct SpectralKDBackward : Node {
  Tensor grad_spectrum;
  Shape shape;
  int64_t maps = 0;
  int H = 0, W = 0;

  template <class T>
  void run_cpu(Tensor& dx, double g) const {
    const auto* G = reinterpret_cast<const std::complex<T>*>(grad_spectrum.data<T>());
    T* out = dx.data<T>();
    cpu::irfft2(G, out, maps, H, W, cpu::FftNorm::ortho);
    if (g != 1.0) {
      const int64_t n = dx.numel();
      for (int64_t i = 0; i < n; ++i) out[i] = T(out[i] * g);
    }
  }

  // The upstream gradient stays on the device: the kernel reads it there (no sync in backward).
  void run_cuda([[maybe_unused]] Tensor& dx, const Tensor& grad_out) const {
    const Device dev = grad_spectrum.device();
    [[maybe_unused]] Tensor scratch = make_tensor(grad_spectrum.shape(), DType::f32, dev);
    if (grad_out.device() == dev) {
      [[maybe_unused]] const Tensor g = grad_out.to(DType::f32).contiguous();
      SDKD_CUDA_ONLY(gpu::irfft2_ortho(grad_spectrum.data<float>(), dx.data<float>(), scratch.data<float>(), maps, H,
                                       W, false, 1.0, g.data<float>()));
    } else {
      [[maybe_unused]] const double g = grad_out.item();
      SDKD_CUDA_ONLY(gpu::irfft2_ortho(grad_spectrum.data<float>(), dx.data<float>(), scratch.data<float>(), maps, H,
                                       W, false, g, nullptr));
    }
  }

  std::vector<Tensor> backward(const Tensor& grad_out) override {
    Tensor dx = make_tensor(shape, grad_spectrum.dtype(), grad_spectrum.device());
    if (detail::on_cuda(grad_spectrum)) {
      run_cuda(dx, grad_out);
      return {dx};
    }
    const double g = grad_out.item();
    SDKD_DISPATCH(dx.dtype(), T, run_cpu<T>(dx, g));
    return {dx};
  }
  const char* name() const override { return "SpectralKDBackward"; }
};

// Band losses from the kernel's per-band sums, their weighted total (a scalar on `like`'s
// device and dtype), and the backward node holding the gradient spectrum S: the same for the
// CPU and the CUDA path.
void finish_loss(SpectralKDResult& res, const std::vector<double>& sums, int64_t numel, const Tensor& like,
                 const Tensor& student, const Tensor& S, int64_t maps, int64_t H, int64_t W, bool want_grad) {
  double loss = 0;
  res.band_losses.resize(sums.size());
  for (size_t b = 0; b < sums.size(); ++b) {
    res.band_losses[b] = sums[b] / double(numel);
    loss += res.weights[b] * res.band_losses[b];
  }
  res.loss = Tensor::scalar(loss, like.dtype(), like.device());
  if (!want_grad) return;
  auto node = std::make_shared<SpectralKDBackward>();
  node->inputs = {student};
  node->grad_spectrum = S;
  node->shape = student.shape();
  node->maps = maps;
  node->H = int(H);
  node->W = int(W);
  record(res.loss, node);
}

template <class T>
SpectralKDResult spectral_kd_typed(const Tensor& student, const Tensor& s, const Tensor& t,
                                   const SpectralKDOptions& o) {
  const BandSpec spec{o.cutoffs};
  const int K = band_count(spec);
  const int64_t H = s.size(-2), W = s.size(-1), numel = s.numel(), maps = numel / (H * W);
  const int64_t Wc = W / 2 + 1;
  const std::vector<int32_t> band = band_index(spec, H, W);

  SpectralKDResult res;
  res.weights = base_weights(o, K);
  Tensor S = make_tensor({maps, H, Wc, 2}, s.dtype()), Tt = make_tensor({maps, H, Wc, 2}, s.dtype());
  auto* ps = reinterpret_cast<std::complex<T>*>(S.data<T>());
  auto* pt = reinterpret_cast<std::complex<T>*>(Tt.data<T>());
  cpu::rfft2(s.data<T>(), ps, maps, int(H), int(W), cpu::FftNorm::ortho);
  cpu::rfft2(t.data<T>(), pt, maps, int(H), int(W), cpu::FftNorm::ortho);

  if (o.adaptive) {
    std::vector<double> energy(static_cast<size_t>(K));
    cpu::spectral_band_energy(pt, maps, int(H), int(W), band.data(), K, energy.data());
    const auto a = adaptive_factors(energy, band_bin_counts(spec, H, W), maps, o.gamma);
    for (int b = 0; b < K; ++b) res.weights[size_t(b)] *= a[size_t(b)];
  }

  const bool want_grad = needs_grad({&student});
  std::vector<double> scale(static_cast<size_t>(K));
  for (int b = 0; b < K; ++b) scale[size_t(b)] = 2.0 * res.weights[size_t(b)] / double(numel);
  std::vector<double> sums(static_cast<size_t>(K));
  // The gradient spectrum overwrites the student's spectrum in place (same bin, read first).
  cpu::spectral_band_loss(ps, pt, want_grad ? ps : nullptr, maps, int(H), int(W), band.data(), K, scale.data(),
                          sums.data());

  finish_loss(res, sums, numel, s, student, S, maps, H, W, want_grad);
  return res;
}

// A contiguous float32 tensor on the device with a 16-byte aligned first element (cuFFT).
Tensor device_ready(const Tensor& t) {
  Tensor c = t.contiguous();
  if (reinterpret_cast<uintptr_t>(c.data<float>()) % 16 != 0) c = c.detach().clone();
  return c;
}

// The same steps as spectral_kd_typed with the CUDA kernels; compiled out without CUDA.
SpectralKDResult spectral_kd_cuda([[maybe_unused]] const Tensor& student, [[maybe_unused]] const Tensor& s,
                                  [[maybe_unused]] const Tensor& t, [[maybe_unused]] const SpectralKDOptions& o) {
  SDKD_CUDA_ONLY({
  const BandSpec spec{o.cutoffs};
  const int K = band_count(spec);
  SDKD_CHECK(K <= gpu::kMaxSpectralBands, "spectral_kd_loss: ", K, " bands, but the CUDA kernel takes at most ",
             gpu::kMaxSpectralBands, " (use fewer cutoffs or run on the CPU)");
  const Device dev = s.device();
  const int64_t H = s.size(-2), W = s.size(-1), numel = s.numel(), maps = numel / (H * W);
  const int64_t Wc = W / 2 + 1;
  const std::vector<int32_t> band = band_index(spec, H, W);
  const Tensor band_dev = Tensor::from_vector(band, {int64_t(band.size())}).to(dev);
  const int32_t* band_ptr = band_dev.data<int32_t>();
  Tensor workspace =
      make_tensor({gpu::spectral_loss_workspace_doubles(maps, int(H), int(W), K)}, DType::f64, dev);

  SpectralKDResult res;
  res.weights = base_weights(o, K);
  Tensor S = make_tensor({maps, H, Wc, 2}, DType::f32, dev), Tt = make_tensor({maps, H, Wc, 2}, DType::f32, dev);
  gpu::rfft2_ortho(s.data<float>(), S.data<float>(), maps, int(H), int(W), 0);
  gpu::rfft2_ortho(t.data<float>(), Tt.data<float>(), maps, int(H), int(W), 0);

  if (o.adaptive) {
    std::vector<double> energy(static_cast<size_t>(K));
    gpu::spectral_band_energy(Tt.data<float>(), maps, int(H), int(W), band_ptr, K, workspace.data<double>(),
                              energy.data());
    const auto a = adaptive_factors(energy, band_bin_counts(spec, H, W), maps, o.gamma);
    for (int b = 0; b < K; ++b) res.weights[size_t(b)] *= a[size_t(b)];
  }

  const bool want_grad = needs_grad({&student});
  std::vector<double> scale(static_cast<size_t>(K));
  for (int b = 0; b < K; ++b) scale[size_t(b)] = 2.0 * res.weights[size_t(b)] / double(numel);
  std::vector<double> sums(static_cast<size_t>(K));
  // As on the CPU, the gradient spectrum overwrites the student's spectrum in place.
  gpu::spectral_band_loss(S.data<float>(), Tt.data<float>(), want_grad ? S.data<float>() : nullptr, maps, int(H),
                          int(W), band_ptr, K, scale.data(), workspace.data<double>(), sums.data());

  finish_loss(res, sums, numel, s, student, S, maps, H, W, want_grad);
  return res;
  });
}

}  // namespace

SpectralKDResult spectral_kd_loss(const Tensor& student, const Tensor& teacher, const SpectralKDOptions& options) {
  const char* op = "spectral_kd_loss";
  SDKD_CHECK(student.defined() && teacher.defined(), op, ": got an undefined tensor");
  SDKD_CHECK(student.device() == teacher.device(), op, ": student on ", student.device().str(), ", teacher on ",
             teacher.device().str(), " (move them to one device with .to(device) first)");
  SDKD_CHECK(student.dtype() == teacher.dtype(), op, ": dtype mismatch, student ", student.str(), " vs teacher ",
             teacher.str());
  SDKD_CHECK(student.shape() == teacher.shape(), op, ": student ", shape_str(student.shape()), " and teacher ",
             shape_str(teacher.shape()), " must have the same shape");
  SDKD_CHECK(student.dim() >= 2 && student.numel() > 0, op, ": expected non-empty (..., H, W) maps, got ",
             student.str());
  const int64_t H = student.size(-2), W = student.size(-1);
  SDKD_CHECK(H <= std::numeric_limits<int>::max() && W <= std::numeric_limits<int>::max(), op, ": map of ", H, " x ",
             W, " is too large for the FFT");
  if (student.device().is_cuda()) {
    SDKD_CHECK(student.dtype() == DType::f32, op, ": CUDA kernels take float32, got ", student.str(),
               " (convert with .to(DType::f32) or run float64 on the CPU)");
    SDKD_CHECK(W >= 2, op, ": maps of width 1 have no CUDA FFT, got ", student.str(), " (run it on the CPU)");
    return spectral_kd_cuda(student, device_ready(student), device_ready(teacher), options);
  }
  const Tensor s = student.contiguous(), t = teacher.contiguous();
  SpectralKDResult res;
  SDKD_DISPATCH(s.dtype(), T, res = spectral_kd_typed<T>(student, s, t, options));
  return res;
}

}  // namespace sdkd::distill
