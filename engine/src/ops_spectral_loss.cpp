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
    if (grad_out.device() == dev) {
      [[maybe_unused]] const Tensor g = grad_out.to(DType::f32).contiguous();
      SDKD_CUDA_ONLY(gpu::irfft2_ortho(detail::cuda_context(dev), grad_spectrum.data<float>(), dx.data<float>(), maps,
                                       H, W, false, 1.0, g.data<float>()));
    } else {
      [[maybe_unused]] const double g = grad_out.item();
      SDKD_CUDA_ONLY(gpu::irfft2_ortho(detail::cuda_context(dev), grad_spectrum.data<float>(), dx.data<float>(), maps,
                                       H, W, false, g, nullptr));
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

// The CPU kernels for one dtype: the batched FFT and the fused band passes on host arrays.
template <class T>
struct CpuSpectralKernels {
  const int32_t* band = nullptr;
  int64_t maps = 0;
  int H = 0, W = 0, K = 0;

  static std::complex<T>* cplx(const Tensor& X) { return reinterpret_cast<std::complex<T>*>(X.data<T>()); }
  void rfft2(const Tensor& x, Tensor& X) const { cpu::rfft2(x.data<T>(), cplx(X), maps, H, W, cpu::FftNorm::ortho); }
  void band_energy(const Tensor& Tt, double* energy) const {
    cpu::spectral_band_energy(cplx(Tt), maps, H, W, band, K, energy);
  }
  void band_loss(Tensor& S, const Tensor& Tt, bool want_grad, const double* scale, double* sums) const {
    cpu::spectral_band_loss(cplx(S), cplx(Tt), want_grad ? cplx(S) : nullptr, maps, H, W, band, K, scale, sums);
  }
};

// The CUDA kernels (float32): cuFFT and the fused band kernel, with the band table uploaded
// as an int32 tensor; the kernels take their double scratch from the context. Compiled out
// without CUDA (no CUDA tensor can reach it there).
struct CudaSpectralKernels {
  Tensor band_table;
  int64_t maps = 0;
  int H = 0, W = 0, K = 0;

  void rfft2([[maybe_unused]] const Tensor& x, [[maybe_unused]] Tensor& X) const {
    SDKD_CUDA_ONLY(gpu::rfft2_ortho(detail::cuda_context(x), x.data<float>(), X.data<float>(), maps, H, W, 0));
  }
  void band_energy([[maybe_unused]] const Tensor& Tt, [[maybe_unused]] double* energy) const {
    SDKD_CUDA_ONLY(gpu::spectral_band_energy(detail::cuda_context(Tt), Tt.data<float>(), maps, H, W,
                                             band_table.data<int32_t>(), K, energy));
  }
  void band_loss([[maybe_unused]] Tensor& S, [[maybe_unused]] const Tensor& Tt, [[maybe_unused]] bool want_grad,
                 [[maybe_unused]] const double* scale, [[maybe_unused]] double* sums) const {
    SDKD_CUDA_ONLY(gpu::spectral_band_loss(detail::cuda_context(S), S.data<float>(), Tt.data<float>(),
                                           want_grad ? S.data<float>() : nullptr, maps, H, W,
                                           band_table.data<int32_t>(), K, scale, sums));
  }
};

// The loss on either device: both spectra, the adaptive factors from the teacher's band
// energies, then one fused pass for the band sums and (in place of the student's spectrum)
// the gradient spectrum. `k` holds the device's kernels, set up for these maps and bands.
template <class Kernels>
SpectralKDResult run_spectral_kd(const Tensor& student, const Tensor& s, const Tensor& t, const SpectralKDOptions& o,
                                 const BandSpec& spec, Kernels& k) {
  const int64_t H = k.H, W = k.W, numel = s.numel(), maps = k.maps, K = k.K;
  SpectralKDResult res;
  res.weights = base_weights(o, int(K));
  Tensor S = make_tensor({maps, H, W / 2 + 1, 2}, s.dtype(), s.device());
  Tensor Tt = make_tensor({maps, H, W / 2 + 1, 2}, s.dtype(), s.device());
  k.rfft2(s, S);
  k.rfft2(t, Tt);

  if (o.adaptive) {
    std::vector<double> energy(static_cast<size_t>(K));
    k.band_energy(Tt, energy.data());
    const auto a = adaptive_factors(energy, band_bin_counts(spec, H, W), maps, o.gamma);
    for (int64_t b = 0; b < K; ++b) res.weights[size_t(b)] *= a[size_t(b)];
  }

  const bool want_grad = needs_grad({&student});
  std::vector<double> scale(static_cast<size_t>(K));
  for (int64_t b = 0; b < K; ++b) scale[size_t(b)] = 2.0 * res.weights[size_t(b)] / double(numel);
  std::vector<double> sums(static_cast<size_t>(K));
  // The gradient spectrum overwrites the student's spectrum in place (same bin, read first).
  k.band_loss(S, Tt, want_grad, scale.data(), sums.data());

  finish_loss(res, sums, numel, s, student, S, maps, H, W, want_grad);
  return res;
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
  const BandSpec spec{options.cutoffs};
  const int K = band_count(spec);
  const int64_t maps = student.numel() / (H * W);
  const std::vector<int32_t> band = band_index(spec, H, W);
  if (student.device().is_cuda()) {
    SDKD_CHECK(student.dtype() == DType::f32, op, ": CUDA kernels take float32, got ", student.str(),
               " (convert with .to(DType::f32) or run float64 on the CPU)");
    SDKD_CHECK(W >= 2, op, ": maps of width 1 have no CUDA FFT, got ", student.str(), " (run it on the CPU)");
    SDKD_CHECK(K <= gpu::kMaxSpectralBands, op, ": ", K, " bands, but the CUDA kernel takes at most ",
               gpu::kMaxSpectralBands, " (use fewer cutoffs or run on the CPU)");
    CudaSpectralKernels k;
    k.maps = maps;
    k.H = int(H);
    k.W = int(W);
    k.K = K;
    k.band_table = Tensor::from_vector(band, {int64_t(band.size())}).to(student.device());
    return run_spectral_kd(student, detail::cufft_ready(student, op), detail::cufft_ready(teacher, op), options, spec, k);
  }
  const Tensor s = student.contiguous(), t = teacher.contiguous();
  SpectralKDResult res;
  SDKD_DISPATCH(s.dtype(), T, {
    CpuSpectralKernels<T> k{band.data(), maps, int(H), int(W), K};
    res = run_spectral_kd(student, s, t, options, spec, k);
  });
  return res;
}

}  // namespace sdkd::distill
