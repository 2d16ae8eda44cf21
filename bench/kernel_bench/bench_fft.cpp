// rfft2 / irfft2 (orthonormal, last two axes) and the fused band-split spectral KD loss
// (spectral_kd_loss, forward + gradient) on the KD taps', the frames' and the Navier-Stokes
// solver's shapes.
//
// Validation on the CPU: rfft2 against a separable DFT in double on the first and last map;
// irfft2 by inverting rfft2(x): the result must be x; the loss and its gradient against the same
// loss built from unfused float64 engine ops.
// GPU rows against the CPU op on the same inputs.
// Yardsticks: the CPU rfft2/irfft2 rows against kissfft (the float transform we used before our
// own, fft_kissfft.hpp) on the same input, output allocated per call as the op does; the
// float64 rows (rfft2_f64 / irfft2_f64, Navier-Stokes shapes: the solver's precision) against
// kissfft's double transform (its C++ template, the same algorithm) of the same values. GPU rfft2/irfft2 have no yardstick (ours calls
// cuFFT). For the loss: "unfused ops" = rfft2 of both maps, subtract, square, one mask per
// band applied with mul, sums, and the backward through all of it: on the GPU this is cuFFT plus
// separate elementwise passes.
// All are memory-bound: the roofline is the bytes read and written once.
#include <cmath>
#include <complex>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "kernels/cpu/fft_kissfft.hpp"
#include "sdkd/spectral_loss.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::bench {

namespace {

// An orthonormal FFT of H*W <= 4096 points in fp32 is accurate to a few ulps times log2(HW).
constexpr double kTolFft = 1e-5;
// In float64 against the same double sums: rounding only (~1e-15), any bug gives O(1).
constexpr double kTolFft64 = 1e-10;
// The loss sums 10^5..10^6 squared differences (in double in the fused kernel); its gradient is
// an elementwise scale of fp32 spectra through one more FFT.
constexpr double kTolLoss = 1e-4, kTolGrad = 1e-4;

Shape map_shape(int64_t B, int64_t C, int64_t H, int64_t W) { return {B, C, H, W}; }

// Separable DFT in double of maps `which` of x (maps, H, W), orthonormal; NaN for other maps.
std::vector<double> dft_ref(const std::vector<float>& x, int64_t maps, int64_t H, int64_t W,
                            const std::vector<int64_t>& which) {
  const int64_t Wh = W / 2 + 1;
  std::vector<double> out(size_t(maps * H * Wh * 2), NAN);
  const double norm = 1 / std::sqrt(double(H * W));
  std::vector<double> re(H * Wh), im(H * Wh);
  for (int64_t m : which) {
    // rows: real -> half spectrum along W
    for (int64_t r = 0; r < H; ++r)
      for (int64_t l = 0; l < Wh; ++l) {
        double a = 0, b = 0;
        for (int64_t n = 0; n < W; ++n) {
          const double ang = -2 * M_PI * double(l * n % W) / double(W), v = x[size_t((m * H + r) * W + n)];
          a += v * std::cos(ang), b += v * std::sin(ang);
        }
        re[r * Wh + l] = a, im[r * Wh + l] = b;
      }
    // columns: complex DFT along H
    for (int64_t k = 0; k < H; ++k)
      for (int64_t l = 0; l < Wh; ++l) {
        double a = 0, b = 0;
        for (int64_t r = 0; r < H; ++r) {
          const double ang = -2 * M_PI * double(k * r % H) / double(H), c = std::cos(ang), s = std::sin(ang);
          a += re[r * Wh + l] * c - im[r * Wh + l] * s;
          b += re[r * Wh + l] * s + im[r * Wh + l] * c;
        }
        const size_t o = size_t(((m * H + k) * Wh + l) * 2);
        out[o] = a * norm, out[o + 1] = b * norm;
      }
  }
  return out;
}

struct State {
  Tensor x, X, y, s, t;
  std::vector<Tensor> masks;  // per band: band indicator * column weight, (H, W/2+1)
};

// kissfft's transform of x (CPU, the row's precision) into a freshly allocated output, as the op
// allocates its own.
template <typename T>
Timed kissfft_run(const std::shared_ptr<State>& st, const shapes::Fft& sh, bool inverse) {
  Timed t;
  const int maps = int(sh.B * sh.C), H = int(sh.H), W = int(sh.W);
  const Shape spectrum{sh.B, sh.C, sh.H, sh.W / 2 + 1, 2};
  const DType dtype = sizeof(T) == 4 ? DType::f32 : DType::f64;
  if (inverse)
    t.run = [st, maps, H, W, sh, dtype] {
      st->y = Tensor::empty({sh.B, sh.C, sh.H, sh.W}, dtype);
      cpu::irfft2_kissfft(reinterpret_cast<const std::complex<T>*>(st->X.data<T>()), st->y.data<T>(), maps, H, W,
                          cpu::FftNorm::ortho);
    };
  else
    t.run = [st, maps, H, W, spectrum, dtype] {
      st->y = Tensor::empty(spectrum, dtype);
      cpu::rfft2_kissfft(st->x.data<T>(), reinterpret_cast<std::complex<T>*>(st->y.data<T>()), maps, H, W,
                         cpu::FftNorm::ortho);
    };
  return t;
}

// dtype f64: the Navier-Stokes solver's precision (CPU rows only).
Prepared prepare_fft(const shapes::Fft& sh, bool inverse, Device dev, DType dtype = DType::f32) {
  const Tensor x32 = host_randn(map_shape(sh.B, sh.C, sh.H, sh.W), 61);
  const Tensor x = dtype == DType::f32 ? x32 : x32.to(dtype);  // the same values, exactly
  const Tensor X = rfft2(x);  // a valid half spectrum (Hermitian where it must be)
  auto st = std::make_shared<State>();
  st->x = x.to(dev), st->X = X.to(dev);
  Prepared p;
  p.bytes = double(dtype_size(dtype)) * double(x.numel() + X.numel());
  p.bound = Bound::memory;
  p.yardstick_note = "-";
  const int64_t W = sh.W;
  if (inverse)
    p.ours.run = [st, W] { st->y = irfft2(st->X, W); };
  else
    p.ours.run = [st] { st->y = rfft2(st->x); };
  if (dev.is_cpu()) {
    p.yardstick = dtype == DType::f32 ? kissfft_run<float>(st, sh, inverse) : kissfft_run<double>(st, sh, inverse);
    p.yardstick_name = dtype == DType::f32 ? "kissfft" : "kissfft f64";
    const double tol = dtype == DType::f32 ? kTolFft : kTolFft64;
    p.reference = inverse ? "inverts rfft2 (round trip)" : "separable DFT in double";
    p.validate = [=] {
      if (inverse) return compare(irfft2(X, W), x, tol, "x");
      const int64_t maps = sh.B * sh.C;
      return compare(rfft2(x).to_double_vector(), dft_ref(x32.to_float_vector(), maps, sh.H, sh.W, {0, maps - 1}), tol,
                     "X");
    };
  } else {
    p.reference = "CPU twin";
    p.validate = [=] {
      if (inverse) return compare(irfft2(st->X, W), irfft2(X, W), kTolFft, "x");
      return compare(rfft2(st->x), rfft2(x), kTolFft, "X");
    };
  }
  return p;
}

SpectralKDOptions kd_options(const shapes::SpectralLoss& s) {
  SpectralKDOptions o;
  o.cutoffs = {0.25};
  o.alpha = s.alpha;
  return o;
}

// Per band b: w_k [bin k in band b] as an (H, W/2+1) tensor of `dtype` on `dev`.
std::vector<Tensor> band_masks(const shapes::SpectralLoss& s, DType dtype, Device dev) {
  BandSpec spec;
  spec.cutoffs = {0.25};
  const std::vector<int32_t> band = band_index(spec, s.H, s.W);
  const int64_t Wh = s.W / 2 + 1;
  std::vector<Tensor> out;
  for (int b = 0; b < band_count(spec); ++b) {
    std::vector<double> m(size_t(s.H * Wh));
    for (int64_t r = 0; r < s.H; ++r)
      for (int64_t l = 0; l < Wh; ++l)
        m[r * Wh + l] = band[r * Wh + l] == b ? half_spectrum_weight(l, s.W) : 0.0;
    out.push_back(Tensor::from_vector(m, {s.H, Wh}).to(dtype).to(dev));
  }
  return out;
}

// The loss from separate ops: (1/numel) sum_b weight_b sum_k mask_b,k |S_k - T_k|^2.
Tensor unfused_loss(const shapes::SpectralLoss& s, const Tensor& student, const Tensor& teacher,
                    const std::vector<Tensor>& masks) {
  const Tensor e = sum(square(sub(rfft2(student), rfft2(teacher))), {-1});  // |S - T|^2, (B, C, H, W/2+1)
  Tensor loss;
  for (size_t b = 0; b < masks.size(); ++b) {
    const Tensor lb = mul_scalar(sum(mul(e, masks[b])), (b == 0 ? s.alpha : 1.0) / double(student.numel()));
    loss = loss.defined() ? add(loss, lb) : lb;
  }
  return loss;
}

Prepared prepare_loss(const shapes::SpectralLoss& sh, Device dev) {
  const Shape shape = map_shape(sh.B, sh.C, sh.H, sh.W);
  const Tensor s = host_randn(shape, 71), t = host_randn(shape, 72);
  auto st = std::make_shared<State>();
  st->s = s.to(dev), st->t = t.to(dev);
  st->masks = band_masks(sh, DType::f32, dev);
  const SpectralKDOptions opt = kd_options(sh);
  Prepared p;
  p.bytes = 3.0 * 4.0 * double(s.numel());
  p.bound = Bound::memory;
  auto timed = [st, sh, opt](bool fused) {
    Timed tm;
    tm.before = [st] { st->s.zero_grad(), st->s.set_requires_grad(true); };
    tm.run = [st, sh, opt, fused] {
      const Tensor loss = fused ? spectral_kd_loss(st->s, st->t, opt).loss : unfused_loss(sh, st->s, st->t, st->masks);
      loss.backward();
    };
    return tm;
  };
  p.ours = timed(true);
  p.yardstick = timed(false);
  p.yardstick_name = "unfused ops";
  // Loss and gradient of fresh leaves through the fused op.
  auto fused = [opt](const Tensor& a, const Tensor& b) {
    Tensor aa = a.detach();
    aa.set_requires_grad(true);
    const Tensor loss = spectral_kd_loss(aa, b, opt).loss;
    loss.backward();
    return std::vector<Tensor>{loss, aa.grad()};
  };
  if (dev.is_cpu()) {
    p.reference = "unfused float64 ops";
    p.validate = [=] {
      const std::vector<Tensor> got = fused(s, t);
      Tensor s64 = s.to(DType::f64);
      s64.set_requires_grad(true);
      const Tensor ref = unfused_loss(sh, s64, t.to(DType::f64), band_masks(sh, DType::f64, kCpu));
      ref.backward();
      return worst({compare(got[0], ref, kTolLoss, "loss"), compare(got[1], s64.grad(), kTolGrad, "grad")});
    };
  } else {
    p.reference = "CPU twin";
    p.validate = [=] {
      const std::vector<Tensor> got = fused(st->s, st->t), ref = fused(s, t);
      return worst({compare(got[0], ref[0], kTolLoss, "loss"), compare(got[1], ref[1], kTolGrad, "grad")});
    };
  }
  return p;
}

}  // namespace

// The transform's forward; its backward gets the generic rfft2_fwdbwd / irfft2_fwdbwd row. Shapes
// marked float64 get a CPU row in float64 too.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Fft& s) {
  const bool inverse = e.op() == "irfft2";
  const std::string family = inverse ? "irfft2" : "rfft2";
  add_for_devices(out, o, family, e, [&s, inverse](Device d) { return prepare_fft(s, inverse, d); });
  if (s.float64 && o.cpu)
    out.push_back({family + "_f64", e.shape, kCpu, e.origin, &e,
                   [&s, inverse] { return prepare_fft(s, inverse, kCpu, DType::f64); }, ""});
  return {true, false};
}

// The loss with its gradient; the forward alone gets the generic spectral_loss_fwd row.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e,
                             const shapes::SpectralLoss& s) {
  add_for_devices(out, o, "spectral_loss", e, [&s](Device d) { return prepare_loss(s, d); });
  return {false, true};
}

}  // namespace sdkd::bench
