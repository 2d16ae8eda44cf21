#include "sdkd/eval/image_metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "sdkd/eval/spectrum.hpp"
#include "sdkd/error.hpp"

namespace sdkd::eval {

namespace {

constexpr int kRadius = kSsimWindow / 2;

// The 1-D Gaussian taps; the 2-D window is their outer product (separable, sums to 1).
std::array<double, kSsimWindow> gaussian_taps() {
  std::array<double, kSsimWindow> g{};
  double sum = 0;
  for (int i = 0; i < kSsimWindow; ++i) {
    const double d = i - kRadius;
    g[size_t(i)] = std::exp(-d * d / (2 * kSsimSigma * kSsimSigma));
    sum += g[size_t(i)];
  }
  for (double& v : g) v /= sum;
  return g;
}

// Scores are computed on the host; a prediction from a GPU comes over once here.
Tensor as_f32(const Tensor& x) { return x.to(Device{}).to(DType::f32).contiguous(); }

}  // namespace

double ssim(const float* a, const float* b, int H, int W, double data_range) {
  SDKD_CHECK(H >= kSsimWindow && W >= kSsimWindow, "ssim: fields must be at least ", kSsimWindow, "x",
             kSsimWindow, " (the Gaussian window), got ", H, "x", W);
  SDKD_CHECK(data_range > 0 && std::isfinite(data_range), "ssim: data_range must be positive, got ", data_range);
  static const std::array<double, kSsimWindow> g = gaussian_taps();
  const int Hv = H - 2 * kRadius, Wv = W - 2 * kRadius;
  // Horizontal pass over every row for the five moments a, b, a^2, b^2, ab; then the vertical
  // pass only at valid centres. In double: the moments cancel in var = E[a^2] - mu^2.
  std::vector<double> rows(size_t(5) * size_t(H) * size_t(Wv), 0.0);
  double* m[5];
  for (int k = 0; k < 5; ++k) m[k] = rows.data() + size_t(k) * H * Wv;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < Wv; ++x) {
      double s[5] = {0, 0, 0, 0, 0};
      for (int t = 0; t < kSsimWindow; ++t) {
        const double av = a[y * W + x + t], bv = b[y * W + x + t], w = g[size_t(t)];
        s[0] += w * av, s[1] += w * bv, s[2] += w * av * av, s[3] += w * bv * bv, s[4] += w * av * bv;
      }
      for (int k = 0; k < 5; ++k) m[k][y * Wv + x] = s[k];
    }
  const double C1 = (kSsimK1 * data_range) * (kSsimK1 * data_range);
  const double C2 = (kSsimK2 * data_range) * (kSsimK2 * data_range);
  double total = 0;
  for (int y = 0; y < Hv; ++y)
    for (int x = 0; x < Wv; ++x) {
      double s[5] = {0, 0, 0, 0, 0};
      for (int t = 0; t < kSsimWindow; ++t)
        for (int k = 0; k < 5; ++k) s[k] += g[size_t(t)] * m[k][(y + t) * Wv + x];
      const double mu_a = s[0], mu_b = s[1];
      const double var_a = s[2] - mu_a * mu_a, var_b = s[3] - mu_b * mu_b, cov = s[4] - mu_a * mu_b;
      total += ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a * mu_a + mu_b * mu_b + C1) * (var_a + var_b + C2));
    }
  return total / (double(Hv) * double(Wv));
}

double ssim_mean(const Tensor& pred_in, const Tensor& truth_in, double data_range) {
  SDKD_CHECK(pred_in.shape() == truth_in.shape() && pred_in.dim() >= 2, "ssim_mean: prediction ",
             shape_str(pred_in.shape()), " and truth ", shape_str(truth_in.shape()),
             " must have the same (..., H, W) shape");
  const Tensor pred = as_f32(pred_in), truth = as_f32(truth_in);
  const int H = int(pred.size(-2)), W = int(pred.size(-1));
  const int64_t fields = pred.numel() / (int64_t(H) * W);
  double sum = 0;
  for (int64_t f = 0; f < fields; ++f)
    sum += ssim(pred.data<float>() + f * H * W, truth.data<float>() + f * H * W, H, W, data_range);
  return fields > 0 ? sum / double(fields) : 0.0;
}

double psnr(double mse, double data_range) {
  SDKD_CHECK(data_range > 0 && mse >= 0, "psnr: need data_range > 0 and mse >= 0, got ", data_range, " and ", mse);
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

double value_range(const Tensor& x_in) {
  SDKD_CHECK(x_in.numel() > 0, "value_range: empty tensor ", shape_str(x_in.shape()));
  const Tensor x = as_f32(x_in);
  const auto [lo, hi] = std::minmax_element(x.data<float>(), x.data<float>() + x.numel());
  return double(*hi) - double(*lo);
}

double target_range(const data::SequenceDataset& data, const std::vector<std::pair<int64_t, int64_t>>& windows) {
  SDKD_CHECK(!windows.empty(), "target_range: no windows in ", data.name());
  // Through batch(), a few windows at a time: the same frames whether the dataset is in memory
  // or streamed from its file (values() exists only in memory), and batch() checks each window.
  constexpr size_t kWindowsPerRead = 32;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t first = 0; first < windows.size(); first += kWindowsPerRead) {
    const std::vector<std::pair<int64_t, int64_t>> some(
        windows.begin() + int64_t(first), windows.begin() + int64_t(std::min(windows.size(), first + kWindowsPerRead)));
    const Tensor y = data.batch(some).second;
    const auto [a, b] = std::minmax_element(y.data<float>(), y.data<float>() + y.numel());
    lo = std::min(lo, double(*a));
    hi = std::max(hi, double(*b));
  }
  return hi - lo;
}

// ---------------------------------------------------------------------------------------------

void to_json(nlohmann::json& j, const ExtraMetrics& m) {
  j = {{"ssim", m.ssim},
       {"psnr", m.psnr},
       {"low_band_err", m.low_band_err},
       {"high_band_err", m.high_band_err},
       {"spectrum_pred", m.spectrum_pred},
       {"spectrum_true", m.spectrum_true},
       {"spectrum_error", m.spectrum_error},
       {"ssim_per_lead", m.ssim_per_lead},
       {"data_range", m.data_range},
       {"band_cutoff", m.band_cutoff},
       {"samples", m.samples}};
}

namespace {
double number_or_nan(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}
std::vector<double> numbers_or_nan(const nlohmann::json& j, const char* key) {
  std::vector<double> out;
  for (const auto& v : j.at(key)) out.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
  return out;
}
}  // namespace

void from_json(const nlohmann::json& j, ExtraMetrics& m) {
  m.ssim = number_or_nan(j, "ssim");
  m.psnr = number_or_nan(j, "psnr");
  m.low_band_err = number_or_nan(j, "low_band_err");
  m.high_band_err = number_or_nan(j, "high_band_err");
  m.spectrum_pred = numbers_or_nan(j, "spectrum_pred");
  m.spectrum_true = numbers_or_nan(j, "spectrum_true");
  // Written since the band-error figure; older metrics.json files have none.
  if (j.contains("spectrum_error")) m.spectrum_error = numbers_or_nan(j, "spectrum_error");
  m.ssim_per_lead = numbers_or_nan(j, "ssim_per_lead");
  m.data_range = number_or_nan(j, "data_range");
  m.band_cutoff = number_or_nan(j, "band_cutoff");
  m.samples = j.at("samples").get<int64_t>();
}

// ---------------------------------------------------------------------------------------------

ExtraMetricAccumulator::ExtraMetricAccumulator(double data_range, double band_cutoff)
    : range_(data_range), cutoff_(band_cutoff) {
  SDKD_CHECK(data_range > 0 && std::isfinite(data_range), "extra metrics: data_range must be positive, got ",
             data_range);
  SDKD_CHECK(band_cutoff >= 0, "extra metrics: band cutoff must be >= 0, got ", band_cutoff);
}

void ExtraMetricAccumulator::add(const Tensor& pred_in, const Tensor& truth_in) {
  SDKD_CHECK(pred_in.shape() == truth_in.shape() && pred_in.dim() == 5, "extra metrics: prediction ",
             shape_str(pred_in.shape()), " and truth ", shape_str(truth_in.shape()),
             " must both be (B, T, C, H, W)");
  const Tensor pred = as_f32(pred_in), truth = as_f32(truth_in);
  const Shape frame_shape(pred.shape().begin() + 1, pred.shape().end());
  if (frame_shape_.empty()) {
    frame_shape_ = frame_shape;
    ssim_per_lead_.assign(size_t(pred.size(1)), 0.0);
  }
  SDKD_CHECK(frame_shape == frame_shape_, "extra metrics: batch shape changed to ", shape_str(pred.shape()),
             " after (B, ", shape_str(frame_shape_), ")");
  const int64_t B = pred.size(0), T = pred.size(1), C = pred.size(2);
  const int H = int(pred.size(3)), W = int(pred.size(4));
  const int64_t hw = int64_t(H) * W, fields = B * T * C;
  const float* p = pred.data<float>();
  const float* t = truth.data<float>();

  for (int64_t f = 0; f < fields; ++f) ssim_per_lead_[size_t((f / C) % T)] += ssim(p + f * hw, t + f * hw, H, W, range_);
  for (int64_t i = 0; i < fields * hw; ++i) {
    const double e = double(p[i]) - double(t[i]);
    se_ += e * e;
  }
  const std::vector<BandSums> bands = band_sums(p, t, fields, H, W, cutoff_);
  for (int64_t b = 0; b < B; ++b) {
    BandSums s;
    for (int64_t f = 0; f < T * C; ++f) s += bands[size_t(b * T * C + f)];
    low_ += s.low_error();
    high_ += s.high_error();
  }
  accumulate_energy_spectrum(p, fields, H, W, spec_pred_);
  accumulate_energy_spectrum(t, fields, H, W, spec_true_);
  std::vector<float> diff(size_t(fields * hw));
  for (size_t i = 0; i < diff.size(); ++i) diff[i] = p[i] - t[i];
  accumulate_energy_spectrum(diff.data(), fields, H, W, spec_err_);
  samples_ += B;
  fields_ += fields;
  pixels_ += fields * hw;
}

ExtraMetrics ExtraMetricAccumulator::result() const {
  ExtraMetrics m;
  m.data_range = range_;
  m.band_cutoff = cutoff_;
  m.samples = samples_;
  if (samples_ == 0) return m;
  const double per_lead = double(fields_) / double(ssim_per_lead_.size());
  for (double s : ssim_per_lead_) {
    m.ssim_per_lead.push_back(s / per_lead);
    m.ssim += s / double(fields_);
  }
  m.psnr = psnr(se_ / double(pixels_), range_);
  m.low_band_err = low_ / double(samples_);
  m.high_band_err = high_ / double(samples_);
  for (double e : spec_pred_) m.spectrum_pred.push_back(e / double(fields_));
  for (double e : spec_true_) m.spectrum_true.push_back(e / double(fields_));
  for (double e : spec_err_) m.spectrum_error.push_back(e / double(fields_));
  return m;
}

}  // namespace sdkd::eval
