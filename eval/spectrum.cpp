#include "sdkd/eval/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "sdkd/error.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/spectral_loss.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::eval {

namespace {

using cplx = std::complex<double>;

// Signed row wavenumber of FFT row index r: numpy's fftfreq(H) * H, with the Nyquist row
// (even H) at +H/2; its sign does not matter here since only |ky| is used.
int signed_row(int r, int H) { return r <= H / 2 ? r : r - H; }

// 2 for half-spectrum columns standing for a conjugate pair, 1 for self-conjugate ones.
double column_weight(int c, int W) { return half_spectrum_weight(c, W); }

void check_grid(int H, int W, const char* who) {
  SDKD_CHECK(H >= 1 && W >= 1, who, ": field size must be at least 1x1, got ", H, "x", W);
}

// The forward-normalised half spectra of `count` fields starting at x, in double precision:
// the metrics want accuracy more than speed, and the double FFT is our own exact-to-round-off one.
// Returned as (count, H, W/2+1, 2) doubles; bins() views them as complex numbers.
Tensor spectra_of(const float* x, int64_t count, int H, int W) {
  Tensor fields = Tensor::empty({count, H, W}, DType::f64);
  std::copy_n(x, fields.numel(), fields.data<double>());
  return rfft2(fields, FftNorm::forward);
}

const cplx* bins(const Tensor& spectrum) { return reinterpret_cast<const cplx*>(spectrum.data<double>()); }

// Fields are transformed this many at a time so memory stays bounded on large test sets.
constexpr int64_t kChunk = 64;

}  // namespace

int spectrum_shells(int H, int W) {
  check_grid(H, W, "spectrum_shells");
  return int(std::lround(std::hypot(double(H / 2), double(W / 2)))) + 1;
}

void accumulate_energy_spectrum(const float* x, int64_t fields, int H, int W, std::vector<double>& sum) {
  const int shells = spectrum_shells(H, W);
  if (sum.empty()) sum.assign(size_t(shells), 0.0);
  SDKD_CHECK(int(sum.size()) == shells, "energy spectrum: accumulator has ", sum.size(), " shells, a ", H, "x",
             W, " grid has ", shells);
  const int Wh = W / 2 + 1;
  std::vector<int> shell(size_t(H) * size_t(Wh));
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < Wh; ++c)
      shell[size_t(r) * Wh + c] = int(std::lround(std::hypot(double(signed_row(r, H)), double(c))));

  for (int64_t f0 = 0; f0 < fields; f0 += kChunk) {
    const int64_t count = std::min(kChunk, fields - f0);
    const Tensor X = spectra_of(x + f0 * H * W, count, H, W);
    for (int64_t f = 0; f < count; ++f) {
      const cplx* Xf = bins(X) + f * H * Wh;
      for (int r = 0; r < H; ++r)
        for (int c = 0; c < Wh; ++c)
          sum[size_t(shell[size_t(r) * Wh + c])] += 0.5 * column_weight(c, W) * std::norm(Xf[r * Wh + c]);
    }
  }
}

std::vector<double> energy_spectrum(const Tensor& x_in) {
  SDKD_CHECK(x_in.dim() >= 2, "energy_spectrum: expected (..., H, W), got ", shape_str(x_in.shape()));
  const Tensor x = x_in.to(DType::f32).contiguous();
  const int H = int(x.size(-2)), W = int(x.size(-1));
  const int64_t fields = x.numel() / (int64_t(H) * W);
  std::vector<double> sum;
  accumulate_energy_spectrum(x.data<float>(), fields, H, W, sum);
  if (sum.empty()) sum.assign(size_t(spectrum_shells(H, W)), 0.0);
  for (double& e : sum) e /= double(std::max<int64_t>(fields, 1));
  return sum;
}

BandSums& BandSums::operator+=(const BandSums& o) {
  err_low += o.err_low;
  truth_low += o.truth_low;
  err_high += o.err_high;
  truth_high += o.truth_high;
  return *this;
}

namespace {
// Relative error of one band: 0 when nothing is there and nothing is wrong; infinite when the
// truth has no energy in the band but the prediction does.
double band_ratio(double err, double truth) {
  if (err == 0) return 0;
  if (truth == 0) return std::numeric_limits<double>::infinity();
  return std::sqrt(err / truth);
}
}  // namespace

double BandSums::low_error() const { return band_ratio(err_low, truth_low); }
double BandSums::high_error() const { return band_ratio(err_high, truth_high); }

std::vector<BandSums> band_sums(const float* pred, const float* truth, int64_t fields, int H, int W, double cutoff) {
  check_grid(H, W, "band_sums");
  SDKD_CHECK(cutoff >= 0, "band_sums: cutoff must be >= 0, got ", cutoff);
  const int Wh = W / 2 + 1;
  // Normalised radius; a 1-point axis has only k = 0 and contributes nothing.
  const double ny = H >= 2 ? H / 2 : 1, nx = W >= 2 ? W / 2 : 1;
  std::vector<char> low(size_t(H) * size_t(Wh));
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < Wh; ++c)
      low[size_t(r) * Wh + c] = std::hypot(signed_row(r, H) / ny, c / nx) <= cutoff;

  std::vector<BandSums> out(size_t(std::max<int64_t>(fields, 0)));
  for (int64_t f0 = 0; f0 < fields; f0 += kChunk) {
    const int64_t count = std::min(kChunk, fields - f0);
    const Tensor Ps = spectra_of(pred + f0 * H * W, count, H, W), Ts = spectra_of(truth + f0 * H * W, count, H, W);
    const cplx* P = bins(Ps);
    const cplx* T = bins(Ts);
    for (int64_t f = 0; f < count; ++f) {
      BandSums& s = out[size_t(f0 + f)];
      const int64_t base = f * H * Wh;
      for (int r = 0; r < H; ++r)
        for (int c = 0; c < Wh; ++c) {
          const int64_t i = base + r * Wh + c;
          const double w = column_weight(c, W);
          const double e = w * std::norm(P[size_t(i)] - T[size_t(i)]), t = w * std::norm(T[size_t(i)]);
          if (low[size_t(r) * Wh + c]) s.err_low += e, s.truth_low += t;
          else s.err_high += e, s.truth_high += t;
        }
    }
  }
  return out;
}

BandErrors band_errors(const Tensor& pred_in, const Tensor& truth_in, double cutoff) {
  SDKD_CHECK(pred_in.shape() == truth_in.shape() && pred_in.dim() >= 3, "band_errors: prediction ",
             shape_str(pred_in.shape()), " and truth ", shape_str(truth_in.shape()),
             " must have the same (B, ..., H, W) shape");
  const Tensor pred = pred_in.to(DType::f32).contiguous(), truth = truth_in.to(DType::f32).contiguous();
  const int H = int(pred.size(-2)), W = int(pred.size(-1));
  const int64_t B = pred.size(0), fields = pred.numel() / (int64_t(H) * W), per_sample = B > 0 ? fields / B : 0;
  const std::vector<BandSums> sums = band_sums(pred.data<float>(), truth.data<float>(), fields, H, W, cutoff);
  BandErrors out;
  for (int64_t b = 0; b < B; ++b) {
    BandSums s;
    for (int64_t f = 0; f < per_sample; ++f) s += sums[size_t(b * per_sample + f)];
    out.low += s.low_error() / double(B);
    out.high += s.high_error() / double(B);
  }
  return out;
}

}  // namespace sdkd::eval
