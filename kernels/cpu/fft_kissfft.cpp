#include "kernels/cpu/fft_kissfft.hpp"

#include <cmath>
#include <kiss_fft.h>
#include <kiss_fftr.h>
#include <kissfft.hh>  // in the same directory as kiss_fft.h (the imported target's include path)
#include <omp.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

// The row transforms first (kiss_fftr, or the complex transform for odd W: kiss_fftr needs an
// even length), keeping the W/2+1 non-redundant bins, then kiss_fft_stride down the columns;
// the inverse runs the same steps backwards. kissfft's configs carry scratch buffers, so the
// plans live in a thread_local cache. Debian builds the C library for float only, so the double
// transform uses kissfft's C++ template (kissfft.hh, the same algorithm: radix 4/2/3/5/generic
// stages, and a real transform as a half-length complex one plus a split pass); its inverse
// real rows are the mirror of that split, written here after kiss_fftri.

namespace sdkd::cpu {

namespace {

struct KissPlan {
  int H = 0, W = 0;
  kiss_fftr_cfg row_fwd = nullptr, row_inv = nullptr;  // even W
  kiss_fft_cfg rowc_fwd = nullptr, rowc_inv = nullptr;  // odd W
  kiss_fft_cfg col_fwd = nullptr, col_inv = nullptr;
  KissPlan(int h, int w) : H(h), W(w) {
    if (W % 2 == 0) {
      row_fwd = kiss_fftr_alloc(W, 0, nullptr, nullptr);
      row_inv = kiss_fftr_alloc(W, 1, nullptr, nullptr);
      SDKD_CHECK(row_fwd && row_inv, "rfft2_kissfft: kissfft could not allocate a plan for W = ", W);
    } else {
      rowc_fwd = kiss_fft_alloc(W, 0, nullptr, nullptr);
      rowc_inv = kiss_fft_alloc(W, 1, nullptr, nullptr);
      SDKD_CHECK(rowc_fwd && rowc_inv, "rfft2_kissfft: kissfft could not allocate a plan for W = ", W);
    }
    col_fwd = kiss_fft_alloc(H, 0, nullptr, nullptr);
    col_inv = kiss_fft_alloc(H, 1, nullptr, nullptr);
    SDKD_CHECK(col_fwd && col_inv, "rfft2_kissfft: kissfft could not allocate a plan for H = ", H);
  }
  KissPlan(const KissPlan&) = delete;
  KissPlan& operator=(const KissPlan&) = delete;
  ~KissPlan() {
    kiss_fftr_free(row_fwd);
    kiss_fftr_free(row_inv);
    kiss_fft_free(rowc_fwd);
    kiss_fft_free(rowc_inv);
    kiss_fft_free(col_fwd);
    kiss_fft_free(col_inv);
  }
};

// One thread's plans by (H, W) and line buffers; Plan is built from (H, W), Cpx is its complex type.
template <class Plan, class Cpx>
struct PlanWorkspace {
  std::map<std::pair<int, int>, Plan> plans;
  std::vector<Cpx> line_in, line_out, spectrum;
  const Plan& plan(int H, int W) {
    auto it = plans.find({H, W});
    if (it == plans.end())
      it = plans.emplace(std::piecewise_construct, std::forward_as_tuple(H, W), std::forward_as_tuple(H, W)).first;
    return it->second;
  }
};

template <class Workspace>
Workspace& thread_workspace() {
  thread_local Workspace ws;
  return ws;
}

using KissWorkspace = PlanWorkspace<KissPlan, kiss_fft_cpx>;
KissWorkspace& workspace() { return thread_workspace<KissWorkspace>(); }

kiss_fft_cpx* as_kiss(std::complex<float>* p) { return reinterpret_cast<kiss_fft_cpx*>(p); }

// Column transforms in place on a (H, Wc) spectrum, scaled on the way back.
void columns_inplace(const KissPlan& plan, kiss_fft_cfg cfg, kiss_fft_cpx* Y, int Wc, float scale, KissWorkspace& ws) {
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
  auto& ws = workspace();
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
  auto& ws = workspace();
  const auto& plan = ws.plan(H, W);
  const int Wc = W / 2 + 1;
  ws.spectrum.assign(reinterpret_cast<const kiss_fft_cpx*>(X), reinterpret_cast<const kiss_fft_cpx*>(X) + size_t(H) * Wc);
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

// ---- double: kissfft.hh ----

using cplx = std::complex<double>;

struct KissPlanD {
  int H = 0, W = 0;
  kissfft<double> row_fwd, row_inv;  // length W/2 for even W (real split), W for odd W
  kissfft<double> col_fwd, col_inv;
  std::vector<cplx> split_twiddles;  // exp(i pi k / (W/2)), k < W/4 + 1, for the inverse split
  KissPlanD(int h, int w)
      : H(h), W(w), row_fwd(size_t(w % 2 == 0 ? w / 2 : w), false), row_inv(size_t(w % 2 == 0 ? w / 2 : w), true),
        col_fwd(size_t(h), false), col_inv(size_t(h), true) {
    const int N = W / 2;
    if (W % 2 == 0)
      for (int k = 0; k <= N / 2; ++k) split_twiddles.push_back(std::polar(1.0, M_PI * double(k) / double(N)));
  }
};

using KissWorkspaceD = PlanWorkspace<KissPlanD, cplx>;
KissWorkspaceD& workspace_d() { return thread_workspace<KissWorkspaceD>(); }

void columns_inplace_d(const KissPlanD& plan, const kissfft<double>& cfg, cplx* Y, int Wc, double scale,
                       KissWorkspaceD& ws) {
  ws.line_out.resize(size_t(plan.H));
  for (int k = 0; k < Wc; ++k) {
    cfg.transform(Y + k, ws.line_out.data(), 0, 1, size_t(Wc));
    for (int r = 0; r < plan.H; ++r) Y[size_t(r) * Wc + k] = scale * ws.line_out[size_t(r)];
  }
}

void rfft2_one_d(const double* x, cplx* Y, int H, int W, double scale) {
  auto& ws = workspace_d();
  const auto& plan = ws.plan(H, W);
  const int Wc = W / 2 + 1;
  for (int r = 0; r < H; ++r) {
    const double* row = x + size_t(r) * W;
    cplx* out = Y + size_t(r) * Wc;
    if (W % 2 == 0) {
      // transform_real leaves the DC and Nyquist bins packed in out[0] as (DC, Nyquist).
      plan.row_fwd.transform_real(row, out);
      const double dc = out[0].real(), nyquist = out[0].imag();
      out[0] = {dc, 0.0};
      out[W / 2] = {nyquist, 0.0};
    } else {
      ws.line_in.resize(size_t(W));
      ws.line_out.resize(size_t(W));
      for (int j = 0; j < W; ++j) ws.line_in[size_t(j)] = {row[j], 0.0};
      plan.row_fwd.transform(ws.line_in.data(), ws.line_out.data());
      std::copy(ws.line_out.begin(), ws.line_out.begin() + Wc, out);
    }
  }
  columns_inplace_d(plan, plan.col_fwd, Y, Wc, scale, ws);
}

// One inverse real row of even length W = 2N from its N + 1 bins, unnormalised (W x): the split
// pass folds the bins into N complex values whose inverse transform interleaves the even and
// odd samples (kiss_fftri's algorithm). Im of bins 0 and N is ignored, like numpy.
void inverse_real_row(const KissPlanD& plan, const cplx* in, double* row, KissWorkspaceD& ws) {
  const int N = plan.W / 2;
  ws.line_in.resize(size_t(N));
  ws.line_out.resize(size_t(N));
  ws.line_in[0] = {in[0].real() + in[N].real(), in[0].real() - in[N].real()};
  for (int k = 1; k <= N / 2; ++k) {
    const cplx fk = in[k], fnkc = std::conj(in[N - k]);
    const cplx even = fk + fnkc, odd = (fk - fnkc) * cplx(0.0, 1.0) * plan.split_twiddles[size_t(k)];
    ws.line_in[size_t(k)] = even + odd;
    ws.line_in[size_t(N - k)] = std::conj(even - odd);
  }
  plan.row_inv.transform(ws.line_in.data(), ws.line_out.data());
  for (int j = 0; j < N; ++j) row[2 * j] = ws.line_out[size_t(j)].real(), row[2 * j + 1] = ws.line_out[size_t(j)].imag();
}

void irfft2_one_d(const cplx* X, double* x, int H, int W, double scale) {
  auto& ws = workspace_d();
  const auto& plan = ws.plan(H, W);
  const int Wc = W / 2 + 1;
  ws.spectrum.assign(X, X + size_t(H) * Wc);
  columns_inplace_d(plan, plan.col_inv, ws.spectrum.data(), Wc, scale, ws);
  for (int r = 0; r < H; ++r) {
    const cplx* in = ws.spectrum.data() + size_t(r) * Wc;
    double* row = x + size_t(r) * W;
    if (W % 2 == 0) {
      inverse_real_row(plan, in, row, ws);
    } else {
      ws.line_in.resize(size_t(W));
      ws.line_out.resize(size_t(W));
      ws.line_in[0] = {in[0].real(), 0.0};
      for (int k = 1; k < Wc; ++k) {
        ws.line_in[size_t(k)] = in[k];
        ws.line_in[size_t(W - k)] = std::conj(in[k]);
      }
      plan.row_inv.transform(ws.line_in.data(), ws.line_out.data());
      for (int j = 0; j < W; ++j) row[j] = ws.line_out[size_t(j)].real();
    }
  }
}

template <typename One>
void over_batch(int64_t batch, int H, int W, One one) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 1, "rfft2_kissfft: expected batch >= 0 and H, W >= 1, got batch ", batch,
             " H ", H, " W ", W);
  const int64_t in_stride = int64_t(H) * W, out_stride = int64_t(H) * (W / 2 + 1);
#pragma omp parallel for schedule(static) if (batch > 1 && threads_pay_flops(2.5 * double(batch) * double(in_stride) * std::log2(std::max(double(in_stride), 2.0))))
  for (int64_t b = 0; b < batch; ++b) one(b * in_stride, b * out_stride);
}

}  // namespace

void rfft2_kissfft(const float* x, std::complex<float>* X, int64_t batch, int H, int W, FftNorm norm) {
  const float scale = float(fft_scale(norm, int64_t(H) * W, false));
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { rfft2_one(x + xi, X + Xi, H, W, scale); });
}

void irfft2_kissfft(const std::complex<float>* X, float* x, int64_t batch, int H, int W, FftNorm norm) {
  const float scale = float(fft_scale(norm, int64_t(H) * W, true));
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { irfft2_one(X + Xi, x + xi, H, W, scale); });
}

void rfft2_kissfft(const double* x, std::complex<double>* X, int64_t batch, int H, int W, FftNorm norm) {
  const double scale = fft_scale(norm, int64_t(H) * W, false);
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { rfft2_one_d(x + xi, X + Xi, H, W, scale); });
}

void irfft2_kissfft(const std::complex<double>* X, double* x, int64_t batch, int H, int W, FftNorm norm) {
  const double scale = fft_scale(norm, int64_t(H) * W, true);
  over_batch(batch, H, W, [&](int64_t xi, int64_t Xi) { irfft2_one_d(X + Xi, x + xi, H, W, scale); });
}

}  // namespace sdkd::cpu
