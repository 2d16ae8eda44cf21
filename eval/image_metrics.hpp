#pragma once
// Image-quality and spectral metrics beyond MSE / MAE / relative L2 (SPEC §4): SSIM, PSNR,
// low/high-band spectral error and energy spectra, plus an accumulator over a test set.
//
// data_range convention (ours): SSIM and PSNR need the dynamic range of the data. Raw vorticity
// has no fixed range (unlike 8-bit images), so we use the truth's max - min over the whole test
// set, computed once before evaluation (target_range below) and shared by every model, so that
// their SSIM / PSNR are comparable. A per-frame range would reward models on quiet frames and
// change the constants C1, C2 from frame to frame.
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::eval {

// SSIM of Wang et al. 2004 as skimage.metrics.structural_similarity computes it with
// gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03: local
// statistics under an 11x11 Gaussian window (sigma 1.5, weights normalised to sum 1),
//   S = (2 mu_a mu_b + C1)(2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)),
// C1 = (K1 R)^2, C2 = (K2 R)^2, averaged over the 'valid' centres (5 pixels in from every
// border, so no padding is involved). a and b are H x W row-major; H, W >= 11; R > 0.
inline constexpr int kSsimWindow = 11;
inline constexpr double kSsimSigma = 1.5, kSsimK1 = 0.01, kSsimK2 = 0.03;
double ssim(const float* a, const float* b, int H, int W, double data_range);

// Mean SSIM over every (H, W) field of two same-shape (..., H, W) tensors, e.g. (B, T, C, H, W).
double ssim_mean(const Tensor& pred, const Tensor& truth, double data_range);

// PSNR in dB: 10 log10(R^2 / mse); +infinity for mse == 0.
double psnr(double mse, double data_range);

// max - min over the elements of x (any shape, float32/float64).
double value_range(const Tensor& x);

// The data_range convention above: max - min of the target frames of the given windows.
double target_range(const data::SequenceDataset& data, const std::vector<std::pair<int64_t, int64_t>>& windows);

struct ExtraMetrics {
  double ssim = 0, psnr = 0, low_band_err = 0, high_band_err = 0;
  std::vector<double> spectrum_pred, spectrum_true;  // mean E(k) per shell (eval/spectrum.hpp)
  // Mean E(k) of the error field pred - truth: sqrt(spectrum_error / spectrum_true) is the
  // relative error per shell (the band error of eval/spectrum.hpp, one shell wide).
  std::vector<double> spectrum_error;
  std::vector<double> ssim_per_lead;
  double data_range = 0, band_cutoff = 0.25;
  int64_t samples = 0;
};

// JSON with the field names above. Non-finite numbers (PSNR of a perfect prediction) become
// null, as nlohmann writes them, and read back as NaN.
void to_json(nlohmann::json& j, const ExtraMetrics& m);
void from_json(const nlohmann::json& j, ExtraMetrics& m);

// Accumulates batches of (B, T, C, H, W) predictions and truths.
//   ssim: mean over all (H, W) frames; ssim_per_lead: the same per lead time t.
//   psnr: from the pooled per-pixel MSE of everything added (not a mean of per-frame PSNRs,
//         which is biased and infinite for any perfect frame).
//   low/high_band_err: per sample (all its frames pooled), averaged over samples.
//   spectrum_pred/true/error: mean energy spectrum over all frames of the prediction, the
//         truth and their difference.
class ExtraMetricAccumulator {
 public:
  explicit ExtraMetricAccumulator(double data_range, double band_cutoff = 0.25);
  void add(const Tensor& pred, const Tensor& truth);
  ExtraMetrics result() const;

 private:
  double range_, cutoff_;
  std::vector<double> ssim_per_lead_, spec_pred_, spec_true_, spec_err_;
  double se_ = 0, low_ = 0, high_ = 0;
  int64_t samples_ = 0, fields_ = 0, pixels_ = 0;
  Shape frame_shape_;  // (T, C, H, W) of the first batch; later batches must match
};

}  // namespace sdkd::eval
