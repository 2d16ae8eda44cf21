#include "kernels/cpu/fft_kissfft.hpp"

#include <cmath>
#include <kiss_fft.h>
#include <kiss_fftr.h>
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
// plans live in a thread_local cache.

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

struct KissWorkspace {
  std::map<std::pair<int, int>, KissPlan> plans;
  std::vector<kiss_fft_cpx> line_in, line_out, spectrum;
  const KissPlan& plan(int H, int W) {
    auto it = plans.find({H, W});
    if (it == plans.end())
      it = plans.emplace(std::piecewise_construct, std::forward_as_tuple(H, W), std::forward_as_tuple(H, W)).first;
    return it->second;
  }
};

KissWorkspace& workspace() {
  thread_local KissWorkspace ws;
  return ws;
}

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

}  // namespace sdkd::cpu
