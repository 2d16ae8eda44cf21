// rfft2 / irfft2 (orthonormal) as autograd ops over the batched CPU transforms.
//
// Why the backward passes carry column weights: write U for the unitary 2-D DFT and w_l for
// the column weights. rfft2 keeps columns l < W/2+1 of U x, so for the real inner product
// <rfft2(x), Y> = Re <Y0, U x> = <Re(U^H Y0), x>, with Y0 = Y zero-padded to the full width.
// irfft2(Z) sums every kept column as Re(c_l(m) e^{2 pi i l n / W}) times w_l (a column and
// its mirror give twice the real part), so irfft2(Y / w) = Re(U^H Y0) = rfft2^T(Y).
// Differentiating irfft2(Z) = sum_l w_l Re(...) term by term gives irfft2^T(y) = w * rfft2(y).
//
// On CUDA (float32) the same expressions run through cuFFT (kernels/cuda/fft.hpp): the column
// weights and the 1/sqrt(HW) factor are folded into the small kernels around the transforms.
#include <complex>
#include <cstdint>

#include "dispatch.hpp"
#include "kernels/cpu/fft.hpp"
#ifdef SDKD_WITH_CUDA
#include "kernels/cuda/fft.hpp"
#endif
#include "sdkd/autograd.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

struct Plane {
  int64_t batch = 0;
  int H = 0, W = 0;
  int64_t cols() const { return W / 2 + 1; }
};

// Multiplies the columns that stand for two conjugate bins (1 <= l <= (W-1)/2) by `factor`.
template <class T>
void scale_paired_columns(T* spec, const Plane& p, T factor) {
  const int64_t rows = p.batch * p.H, Wc = p.cols(), last = (p.W - 1) / 2;
  for (int64_t r = 0; r < rows; ++r) {
    T* row = spec + r * Wc * 2;
    for (int64_t l = 1; l <= last; ++l) {
      row[2 * l] *= factor;
      row[2 * l + 1] *= factor;
    }
  }
}

cpu::FftNorm cpu_norm(FftNorm n) {
  switch (n) {
    case FftNorm::backward: return cpu::FftNorm::backward;
    case FftNorm::forward: return cpu::FftNorm::forward;
    case FftNorm::ortho: break;
  }
  return cpu::FftNorm::ortho;
}

// The factor between the transform under `norm` and the orthonormal one:
// rfft2(x, norm) = c * rfft2(x, ortho) (inverse = false), likewise for irfft2 (inverse = true).
double factor_to_ortho(FftNorm norm, const Plane& p, bool inverse) {
  const int64_t n = int64_t(p.H) * p.W;
  return cpu::fft_scale(cpu_norm(norm), n, inverse) / cpu::fft_scale(cpu::FftNorm::ortho, n, inverse);
}

// Multiplies t in place by s (s = 1: nothing), on either device, without recording.
void scale_in_place(Tensor& t, double s) {
  if (s == 1.0) return;
  NoGradGuard guard;
  t = mul_scalar(t, s);
}

// x (contiguous real planes) -> spectrum, then the column weights raised to `power` (0: none).
// The CPU transforms apply any norm themselves; cuFFT's path is orthonormal, scaled after.
Tensor forward_rfft2(const Tensor& x_in, const Plane& p, const Shape& out_shape, int power,
                     FftNorm norm = FftNorm::ortho) {
  if (detail::on_cuda(x_in)) {
    const Tensor x = detail::cufft_ready(x_in, "rfft2");
    Tensor X = make_tensor(out_shape, x.dtype(), x.device());
    SDKD_CUDA_ONLY(gpu::rfft2_ortho(detail::cuda_context(x), x.data<float>(), X.data<float>(), p.batch, p.H, p.W, power));
    scale_in_place(X, factor_to_ortho(norm, p, false));
    return X;
  }
  const Tensor& x = x_in;
  Tensor X = make_tensor(out_shape, x.dtype());
  SDKD_DISPATCH(x.dtype(), T, {
    if (p.batch > 0)
      cpu::rfft2(x.data<T>(), reinterpret_cast<std::complex<T>*>(X.data<T>()), p.batch, p.H, p.W, cpu_norm(norm));
    if (power != 0) scale_paired_columns<T>(X.data<T>(), p, T(power > 0 ? 2.0 : 0.5));
  });
  return X;
}

// Spectrum -> real planes; the spectrum is first divided by the column weights if asked.
Tensor inverse_rfft2(const Tensor& X_in, const Plane& p, const Shape& out_shape, bool divide_by_weights,
                     FftNorm norm = FftNorm::ortho) {
  if (detail::on_cuda(X_in)) {
    const Tensor X = detail::cufft_ready(X_in, "irfft2");
    Tensor x = make_tensor(out_shape, X.dtype(), X.device());
    SDKD_CUDA_ONLY(gpu::irfft2_ortho(detail::cuda_context(X), X.data<float>(), x.data<float>(), p.batch, p.H, p.W,
                                     divide_by_weights, 1.0, nullptr));
    scale_in_place(x, factor_to_ortho(norm, p, true));
    return x;
  }
  const Tensor X = divide_by_weights ? X_in.contiguous().clone() : X_in.contiguous();
  Tensor x = make_tensor(out_shape, X.dtype());
  SDKD_DISPATCH(X.dtype(), T, {
    if (divide_by_weights) scale_paired_columns<T>(X.data<T>(), p, T(0.5));
    if (p.batch > 0)
      cpu::irfft2(reinterpret_cast<const std::complex<T>*>(X.data<T>()), x.data<T>(), p.batch, p.H, p.W,
                  cpu_norm(norm));
  });
  return x;
}

// Under another norm the transform is the orthonormal one times `scale`, and so is its adjoint.
struct Rfft2Backward : Node {
  Plane plane;
  Shape in_shape;
  double scale = 1;
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = inverse_rfft2(g, plane, in_shape, true);
    scale_in_place(dx, scale);
    return {dx};
  }
  const char* name() const override { return "Rfft2Backward"; }
};

struct Irfft2Backward : Node {
  Plane plane;
  Shape in_shape;
  double scale = 1;
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dX = forward_rfft2(g.contiguous(), plane, in_shape, +1);
    scale_in_place(dX, scale);
    return {dX};
  }
  const char* name() const override { return "Irfft2Backward"; }
};

int checked_int(int64_t v, const char* op, const char* what) {
  SDKD_CHECK(v >= 1 && v <= int64_t(1) << 30, op, ": ", what, " = ", v, " is out of range [1, 2^30]");
  return int(v);
}

}  // namespace

std::vector<double> rfft2_column_weights(int64_t W) {
  SDKD_CHECK(W >= 1, "rfft2_column_weights: width must be >= 1, got ", W);
  std::vector<double> w(size_t(W / 2 + 1), 2.0);
  w[0] = 1.0;
  if (W % 2 == 0) w.back() = 1.0;
  return w;
}

Tensor rfft2(const Tensor& x_in, FftNorm norm) {
  const char* op = "rfft2";
  detail::require_defined(x_in, op);
  if (detail::on_cuda(x_in)) detail::require_f32_on_cuda(x_in, op);
  SDKD_CHECK(x_in.dim() >= 2, op, ": expected a real (..., H, W) tensor, got ", shape_str(x_in.shape()));
  Plane p;
  p.H = checked_int(x_in.size(-2), op, "H");
  p.W = checked_int(x_in.size(-1), op, "W");
  p.batch = x_in.numel() / (int64_t(p.H) * p.W);
  Shape out_shape(x_in.shape().begin(), x_in.shape().end() - 1);
  out_shape.push_back(p.cols());
  out_shape.push_back(2);
  Tensor X = forward_rfft2(x_in.contiguous(), p, out_shape, 0, norm);
  if (needs_grad({&x_in})) {
    auto node = std::make_shared<Rfft2Backward>();
    node->inputs = {x_in};
    node->plane = p;
    node->in_shape = x_in.shape();
    node->scale = factor_to_ortho(norm, p, false);
    record(X, node);
  }
  return X;
}

Tensor irfft2(const Tensor& X_in, int64_t W, FftNorm norm) {
  const char* op = "irfft2";
  detail::require_defined(X_in, op);
  if (detail::on_cuda(X_in)) detail::require_f32_on_cuda(X_in, op);
  SDKD_CHECK(X_in.dim() >= 3 && X_in.size(-1) == 2, op, ": expected a spectrum (..., H, W/2+1, 2), got ",
             shape_str(X_in.shape()));
  Plane p;
  p.W = checked_int(W, op, "W");
  p.H = checked_int(X_in.size(-3), op, "H");
  SDKD_CHECK(X_in.size(-2) == p.cols(), op, ": spectrum ", shape_str(X_in.shape()), " has ", X_in.size(-2),
             " columns but W = ", W, " needs W/2+1 = ", p.cols());
  p.batch = X_in.numel() / (int64_t(p.H) * p.cols() * 2);
  Shape out_shape(X_in.shape().begin(), X_in.shape().end() - 2);
  out_shape.push_back(W);
  Tensor x = inverse_rfft2(X_in, p, out_shape, false, norm);
  if (needs_grad({&X_in})) {
    auto node = std::make_shared<Irfft2Backward>();
    node->inputs = {X_in};
    node->plane = p;
    node->in_shape = X_in.shape();
    node->scale = factor_to_ortho(norm, p, true);
    record(x, node);
  }
  return x;
}

}  // namespace sdkd
