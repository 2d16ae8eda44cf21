#include "kernels/cpu/fft.hpp"

#include <kiss_fft.h>
#include <kiss_fftr.h>
#include <omp.h>

#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "sdkd/error.hpp"

// How the 2-D real transform is built (both precisions): the W-point transforms of the rows
// first, keeping the W/2+1 non-redundant bins, then H-point complex transforms down the
// columns; the inverse runs the same steps backwards. Plans live in a thread_local cache:
// kissfft's real-transform configs carry a scratch buffer, so they must not be shared.

namespace sdkd::cpu {

double fft_scale(FftNorm norm, int64_t n, bool inverse) {
  switch (norm) {
    case FftNorm::backward: return inverse ? 1.0 / double(n) : 1.0;
    case FftNorm::ortho: return 1.0 / std::sqrt(double(n));
    case FftNorm::forward: return inverse ? 1.0 : 1.0 / double(n);
  }
  return 1.0;
}

namespace {

void check_shape(int64_t batch, int H, int W, const char* who) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 1, who, ": expected batch >= 0 and H, W >= 1, got batch ",
             batch, " H ", H, " W ", W);
}

// ---------------------------------------------------------------------------------------------
// double: our own FFT. Data are split into real and imaginary planes and laid out as
// `lanes` independent signals side by side (element j of lane l at j * lanes + l), so every
// butterfly runs a contiguous, vectorisable loop over the lanes.

class LaneFft {
 public:
  explicit LaneFft(int n) : n_(n), pow2_((n & (n - 1)) == 0), cos_(size_t(n)), sin_(size_t(n)) {
    for (int m = 0; m < n; ++m) {
      const double theta = 2.0 * M_PI * double(m) / double(n);
      cos_[size_t(m)] = std::cos(theta);
      sin_[size_t(m)] = std::sin(theta);
    }
    if (pow2_) {
      bitrev_.resize(size_t(n));
      while ((1 << log2n_) < n) ++log2n_;
      for (int j = 0; j < n; ++j) {
        int r = 0;
        for (int b = 0; b < log2n_; ++b) r |= ((j >> b) & 1) << (log2n_ - 1 - b);
        bitrev_[size_t(j)] = r;
      }
    }
  }

  // Where input element j must be stored before run(): callers scatter their data straight
  // into the radix-2 (bit-reversed) order, saving a pass over it.
  int slot(int j) const { return pow2_ ? bitrev_[size_t(j)] : j; }

  // In place on data stored in slot() order, output in natural order; sign e^{-i...} forward,
  // e^{+i...} inverse, no normalisation.
  void run(double* re, double* im, int lanes, bool inverse, std::vector<double>& scratch) const {
    if (pow2_) pow2_fft(re, im, lanes, inverse);
    else direct(re, im, lanes, inverse, scratch);
  }

 private:
  void pow2_fft(double* re, double* im, int lanes, bool inverse) const {
    // One radix-2 stage when log2(n) is odd, then fused pairs of radix-2 stages (radix 4):
    // half as many passes over the data as plain radix 2.
    int h = 1;
    if ((log2n_ & 1) != 0) {
      radix2_stage(re, im, lanes);
      h = 2;
    }
    for (; 4 * h <= n_; h *= 4) radix4_stage(re, im, lanes, inverse, h);
  }

  // Butterflies of length 2 (all twiddles are 1).
  void radix2_stage(double* re, double* im, int lanes) const {
    for (int start = 0; start < n_; start += 2) {
      double* __restrict pr = re + start * lanes;
      double* __restrict pi = im + start * lanes;
      double* __restrict qr = pr + lanes;
      double* __restrict qi = pi + lanes;
#pragma omp simd
      for (int l = 0; l < lanes; ++l) {
        const double tr = qr[l], ti = qi[l];
        qr[l] = pr[l] - tr;
        qi[l] = pi[l] - ti;
        pr[l] += tr;
        pi[l] += ti;
      }
    }
  }

  // The radix-2 stages of half-lengths h and 2h at once. With a0..a3 the points j, j+h, j+2h,
  // j+3h of a block of 4h: b0,1 = a0 +- W a1, b2,3 = a2 +- W a3 (W = w_{2h}^j), then
  // c0,2 = b0 +- V b2, c1,3 = b1 +- (-+i) V b3 (V = w_{4h}^j; w_{4h}^{j+h} = -+i V).
  void radix4_stage(double* re, double* im, int lanes, bool inverse, int h) const {
    const double s = inverse ? 1.0 : -1.0;
    const int step_w = n_ / (2 * h), step_v = n_ / (4 * h);
    for (int start = 0; start < n_; start += 4 * h) {
      for (int j = 0; j < h; ++j) {
        const double wr = cos_[size_t(j * step_w)], wi = s * sin_[size_t(j * step_w)];
        const double vr = cos_[size_t(j * step_v)], vi = s * sin_[size_t(j * step_v)];
        double* __restrict r0 = re + (start + j) * lanes;
        double* __restrict i0 = im + (start + j) * lanes;
        double* __restrict r1 = r0 + h * lanes;
        double* __restrict i1 = i0 + h * lanes;
        double* __restrict r2 = r1 + h * lanes;
        double* __restrict i2 = i1 + h * lanes;
        double* __restrict r3 = r2 + h * lanes;
        double* __restrict i3 = i2 + h * lanes;
#pragma omp simd
        for (int l = 0; l < lanes; ++l) {
          const double t1r = wr * r1[l] - wi * i1[l], t1i = wr * i1[l] + wi * r1[l];
          const double t3r = wr * r3[l] - wi * i3[l], t3i = wr * i3[l] + wi * r3[l];
          const double b0r = r0[l] + t1r, b0i = i0[l] + t1i;
          const double b1r = r0[l] - t1r, b1i = i0[l] - t1i;
          const double b2r = r2[l] + t3r, b2i = i2[l] + t3i;
          const double b3r = r2[l] - t3r, b3i = i2[l] - t3i;
          const double u2r = vr * b2r - vi * b2i, u2i = vr * b2i + vi * b2r;
          const double v3r = vr * b3r - vi * b3i, v3i = vr * b3i + vi * b3r;
          // times s*i: (x + i y) * (s i) = -s y + i s x
          const double u3r = -s * v3i, u3i = s * v3r;
          r0[l] = b0r + u2r;
          i0[l] = b0i + u2i;
          r2[l] = b0r - u2r;
          i2[l] = b0i - u2i;
          r1[l] = b1r + u3r;
          i1[l] = b1i + u3i;
          r3[l] = b1r - u3r;
          i3[l] = b1i - u3i;
        }
      }
    }
  }

  // O(n^2) DFT for lengths that are not powers of two (rare here: tests and odd grids).
  void direct(double* re, double* im, int lanes, bool inverse, std::vector<double>& scratch) const {
    const size_t total = size_t(n_) * size_t(lanes);
    scratch.assign(2 * total, 0.0);
    double* outr = scratch.data();
    double* outi = scratch.data() + total;
    const double s = inverse ? 1.0 : -1.0;
    for (int k = 0; k < n_; ++k) {
      for (int j = 0; j < n_; ++j) {
        const size_t m = size_t((int64_t(j) * k) % n_);
        const double wr = cos_[m], wi = s * sin_[m];
        for (int l = 0; l < lanes; ++l) {
          outr[k * lanes + l] += wr * re[j * lanes + l] - wi * im[j * lanes + l];
          outi[k * lanes + l] += wr * im[j * lanes + l] + wi * re[j * lanes + l];
        }
      }
    }
    std::copy(outr, outr + total, re);
    std::copy(outi, outi + total, im);
  }

  int n_;
  int log2n_ = 0;
  bool pow2_;
  std::vector<double> cos_, sin_;
  std::vector<int> bitrev_;
};

struct DoublePlan {
  LaneFft rows, cols;  // W-point transforms of the rows, H-point transforms of the columns
  DoublePlan(int H, int W) : rows(W), cols(H) {}
};

struct DoubleWorkspace {
  std::map<std::pair<int, int>, DoublePlan> plans;
  std::vector<double> zr, zi, yr, yi, scratch;
  const DoublePlan& plan(int H, int W) {
    auto it = plans.find({H, W});
    if (it == plans.end()) it = plans.emplace(std::pair{H, W}, DoublePlan(H, W)).first;
    return it->second;
  }
};

DoubleWorkspace& double_workspace() {
  thread_local DoubleWorkspace ws;
  return ws;
}

// Rows are transformed two at a time as one complex signal z = a + i b (the real-input
// trick); the row pairs are the lanes. P = ceil(H/2) pairs; an odd last row pairs with zeros.
void rfft2_one(const double* x, std::complex<double>* X, int H, int W, double scale) {
  auto& ws = double_workspace();
  const auto& plan = ws.plan(H, W);
  const int P = (H + 1) / 2, Wc = W / 2 + 1;
  ws.zr.resize(size_t(W) * P);
  ws.zi.resize(size_t(W) * P);
  ws.yr.resize(size_t(H) * Wc);
  ws.yi.resize(size_t(H) * Wc);
  for (int p = 0; p < P; ++p) {
    const double* a = x + size_t(2 * p) * W;
    const double* b = (2 * p + 1 < H) ? a + W : nullptr;
    for (int j = 0; j < W; ++j) {
      const size_t at = size_t(plan.rows.slot(j)) * P + p;
      ws.zr[at] = a[j];
      ws.zi[at] = b ? b[j] : 0.0;
    }
  }
  plan.rows.run(ws.zr.data(), ws.zi.data(), P, false, ws.scratch);
  // Z[k] = A[k] + i B[k] with A, B Hermitian: A = (Z[k] + conj Z[-k]) / 2, B = (Z[k] - conj Z[-k]) / 2i.
  for (int k = 0; k < Wc; ++k) {
    const int km = (W - k) % W;
    for (int p = 0; p < P; ++p) {
      const double zr = ws.zr[size_t(k) * P + p], zi = ws.zi[size_t(k) * P + p];
      const double mr = ws.zr[size_t(km) * P + p], mi = -ws.zi[size_t(km) * P + p];
      const size_t a_at = size_t(plan.cols.slot(2 * p)) * Wc + k;
      ws.yr[a_at] = 0.5 * (zr + mr);
      ws.yi[a_at] = 0.5 * (zi + mi);
      if (2 * p + 1 < H) {
        const size_t b_at = size_t(plan.cols.slot(2 * p + 1)) * Wc + k;
        ws.yr[b_at] = 0.5 * (zi - mi);
        ws.yi[b_at] = -0.5 * (zr - mr);
      }
    }
  }
  plan.cols.run(ws.yr.data(), ws.yi.data(), Wc, false, ws.scratch);
  for (size_t i = 0; i < size_t(H) * Wc; ++i) X[i] = {scale * ws.yr[i], scale * ws.yi[i]};
}

void irfft2_one(const std::complex<double>* X, double* x, int H, int W, double scale) {
  auto& ws = double_workspace();
  const auto& plan = ws.plan(H, W);
  const int P = (H + 1) / 2, Wc = W / 2 + 1;
  ws.zr.resize(size_t(W) * P);
  ws.zi.resize(size_t(W) * P);
  ws.yr.resize(size_t(H) * Wc);
  ws.yi.resize(size_t(H) * Wc);
  for (int r = 0; r < H; ++r) {
    const std::complex<double>* row = X + size_t(r) * Wc;
    double* yr = ws.yr.data() + size_t(plan.cols.slot(r)) * Wc;
    double* yi = ws.yi.data() + size_t(plan.cols.slot(r)) * Wc;
    for (int k = 0; k < Wc; ++k) {
      yr[k] = row[k].real();
      yi[k] = row[k].imag();
    }
  }
  plan.cols.run(ws.yr.data(), ws.yi.data(), Wc, true, ws.scratch);
  // The row transform is c2r: the imaginary parts of the self-conjugate bins do not exist.
  for (int r = 0; r < H; ++r) {
    ws.yi[size_t(r) * Wc] = 0.0;
    if (W % 2 == 0) ws.yi[size_t(r) * Wc + W / 2] = 0.0;
  }
  for (int j = 0; j < W; ++j) {
    const bool mirrored = j >= Wc;
    const int k = mirrored ? W - j : j;
    const double conj_sign = mirrored ? -1.0 : 1.0;
    for (int p = 0; p < P; ++p) {
      const double ar = ws.yr[size_t(2 * p) * Wc + k], ai = conj_sign * ws.yi[size_t(2 * p) * Wc + k];
      double br = 0.0, bi = 0.0;
      if (2 * p + 1 < H) {
        br = ws.yr[size_t(2 * p + 1) * Wc + k];
        bi = conj_sign * ws.yi[size_t(2 * p + 1) * Wc + k];
      }
      ws.zr[size_t(plan.rows.slot(j)) * P + p] = ar - bi;  // A + i B
      ws.zi[size_t(plan.rows.slot(j)) * P + p] = ai + br;
    }
  }
  plan.rows.run(ws.zr.data(), ws.zi.data(), P, true, ws.scratch);
  for (int p = 0; p < P; ++p) {
    double* a = x + size_t(2 * p) * W;
    for (int j = 0; j < W; ++j) a[j] = scale * ws.zr[size_t(j) * P + p];
    if (2 * p + 1 < H) {
      double* b = a + W;
      for (int j = 0; j < W; ++j) b[j] = scale * ws.zi[size_t(j) * P + p];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// float: kissfft. kiss_fftr needs an even length, so odd row lengths use the complex transform.

struct FloatPlan {
  int H = 0, W = 0;
  kiss_fftr_cfg row_fwd = nullptr, row_inv = nullptr;  // even W
  kiss_fft_cfg rowc_fwd = nullptr, rowc_inv = nullptr;  // odd W
  kiss_fft_cfg col_fwd = nullptr, col_inv = nullptr;
  FloatPlan(int h, int w) : H(h), W(w) {
    if (W % 2 == 0) {
      row_fwd = kiss_fftr_alloc(W, 0, nullptr, nullptr);
      row_inv = kiss_fftr_alloc(W, 1, nullptr, nullptr);
      SDKD_CHECK(row_fwd && row_inv, "rfft2: kissfft could not allocate a plan for W = ", W);
    } else {
      rowc_fwd = kiss_fft_alloc(W, 0, nullptr, nullptr);
      rowc_inv = kiss_fft_alloc(W, 1, nullptr, nullptr);
      SDKD_CHECK(rowc_fwd && rowc_inv, "rfft2: kissfft could not allocate a plan for W = ", W);
    }
    col_fwd = kiss_fft_alloc(H, 0, nullptr, nullptr);
    col_inv = kiss_fft_alloc(H, 1, nullptr, nullptr);
    SDKD_CHECK(col_fwd && col_inv, "rfft2: kissfft could not allocate a plan for H = ", H);
  }
  FloatPlan(const FloatPlan&) = delete;
  FloatPlan& operator=(const FloatPlan&) = delete;
  ~FloatPlan() {
    kiss_fftr_free(row_fwd);
    kiss_fftr_free(row_inv);
    kiss_fft_free(rowc_fwd);
    kiss_fft_free(rowc_inv);
    kiss_fft_free(col_fwd);
    kiss_fft_free(col_inv);
  }
};

struct FloatWorkspace {
  std::map<std::pair<int, int>, FloatPlan> plans;
  std::vector<kiss_fft_cpx> line_in, line_out, spectrum;
  const FloatPlan& plan(int H, int W) {
    auto it = plans.find({H, W});
    if (it == plans.end())
      it = plans.emplace(std::piecewise_construct, std::forward_as_tuple(H, W), std::forward_as_tuple(H, W)).first;
    return it->second;
  }
};

FloatWorkspace& float_workspace() {
  thread_local FloatWorkspace ws;
  return ws;
}

kiss_fft_cpx* as_kiss(std::complex<float>* p) { return reinterpret_cast<kiss_fft_cpx*>(p); }

// Column transforms in place on a (H, Wc) spectrum, scaled on the way back.
void columns_inplace(const FloatPlan& plan, kiss_fft_cfg cfg, kiss_fft_cpx* Y, int Wc, float scale,
                     FloatWorkspace& ws) {
  ws.line_out.resize(size_t(plan.H));
  for (int k = 0; k < Wc; ++k) {
    kiss_fft_stride(cfg, Y + k, ws.line_out.data(), Wc);
    for (int r = 0; r < plan.H; ++r) {
      Y[size_t(r) * Wc + k].r = scale * ws.line_out[size_t(r)].r;
      Y[size_t(r) * Wc + k].i = scale * ws.line_out[size_t(r)].i;
    }
  }
}

void rfft2_one(const float* x, std::complex<float>* X, int H, int W, float scale) {
  auto& ws = float_workspace();
  const auto& plan = ws.plan(H, W);
  const int Wc = W / 2 + 1;
  kiss_fft_cpx* Y = as_kiss(X);
  for (int r = 0; r < H; ++r) {
    const float* row = x + size_t(r) * W;
    kiss_fft_cpx* out = Y + size_t(r) * Wc;
    if (plan.row_fwd) {
      kiss_fftr(plan.row_fwd, row, out);
    } else {
      ws.line_in.resize(size_t(W));
      ws.line_out.resize(size_t(W));
      for (int j = 0; j < W; ++j) ws.line_in[size_t(j)] = {row[j], 0.0f};
      kiss_fft(plan.rowc_fwd, ws.line_in.data(), ws.line_out.data());
      std::copy(ws.line_out.begin(), ws.line_out.begin() + Wc, out);
    }
  }
  columns_inplace(plan, plan.col_fwd, Y, Wc, scale, ws);
}

void irfft2_one(const std::complex<float>* X, float* x, int H, int W, float scale) {
  auto& ws = float_workspace();
  const auto& plan = ws.plan(H, W);
  const int Wc = W / 2 + 1;
  ws.spectrum.assign(reinterpret_cast<const kiss_fft_cpx*>(X),
                     reinterpret_cast<const kiss_fft_cpx*>(X) + size_t(H) * Wc);
  columns_inplace(plan, plan.col_inv, ws.spectrum.data(), Wc, scale, ws);
  for (int r = 0; r < H; ++r) {
    const kiss_fft_cpx* in = ws.spectrum.data() + size_t(r) * Wc;
    float* row = x + size_t(r) * W;
    if (plan.row_inv) {
      kiss_fftri(plan.row_inv, in, row);  // ignores Im of bins 0 and W/2, like numpy
    } else {
      ws.line_in.resize(size_t(W));
      ws.line_out.resize(size_t(W));
      ws.line_in[0] = {in[0].r, 0.0f};
      for (int k = 1; k < Wc; ++k) {
        ws.line_in[size_t(k)] = in[k];
        ws.line_in[size_t(W - k)] = {in[k].r, -in[k].i};
      }
      kiss_fft(plan.rowc_inv, ws.line_in.data(), ws.line_out.data());
      for (int j = 0; j < W; ++j) row[j] = ws.line_out[size_t(j)].r;
    }
  }
}

template <typename One>
void over_batch(int64_t batch, int H, int W, One one) {
  const int64_t in_stride = int64_t(H) * W, out_stride = int64_t(H) * (W / 2 + 1);
#pragma omp parallel for schedule(static) if (batch > 1 && !omp_in_parallel())
  for (int64_t b = 0; b < batch; ++b) one(b * in_stride, b * out_stride);
}

}  // namespace

void rfft2(const float* x, std::complex<float>* X, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "rfft2");
  const float scale = float(fft_scale(norm, int64_t(H) * W, false));
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { rfft2_one(x + xi, X + Xi, H, W, scale); });
}

void rfft2(const double* x, std::complex<double>* X, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "rfft2");
  const double scale = fft_scale(norm, int64_t(H) * W, false);
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { rfft2_one(x + xi, X + Xi, H, W, scale); });
}

void irfft2(const std::complex<float>* X, float* x, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "irfft2");
  const float scale = float(fft_scale(norm, int64_t(H) * W, true));
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { irfft2_one(X + Xi, x + xi, H, W, scale); });
}

void irfft2(const std::complex<double>* X, double* x, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "irfft2");
  const double scale = fft_scale(norm, int64_t(H) * W, true);
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { irfft2_one(X + Xi, x + xi, H, W, scale); });
}

}  // namespace sdkd::cpu
