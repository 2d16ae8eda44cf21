#pragma once
// Forecast metrics on raw values (the paper's per-pixel convention: means over pixels, not
// OpenSTL's sums, which are H*W times larger) and relative L2 as in FNO: per sample
// ||pred - truth||_2 / ||truth||_2 over all output frames, averaged over samples.
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::eval {

struct ForecastMetrics {
  double mse = 0, mae = 0, rel_l2 = 0;
  std::vector<double> mse_per_lead, mae_per_lead, rel_l2_per_lead;
  // Each sample's MSE over its output frames, in the order scored: the test set's own sampling
  // error (its standard error, and a paired comparison's on the same windows) comes from these.
  std::vector<double> mse_per_sample;
  int64_t samples = 0;
  nlohmann::json to_json() const;
};

// Accumulates batches of (B, T, C, H, W) predictions and truths.
class MetricAccumulator {
 public:
  void add(const Tensor& pred, const Tensor& truth);
  ForecastMetrics result() const;

 private:
  std::vector<double> se_, ae_, rel_;  // per lead: summed squared/absolute error, summed rel L2
  std::vector<double> sample_mse_;
  double rel_total_ = 0;
  int64_t samples_ = 0, per_frame_ = 0;
};

using Predictor = std::function<Tensor(const Tensor& x)>;

ForecastMetrics evaluate(const Predictor& predict, const data::SequenceDataset& data,
                         const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t batch_size);

// The persistence baseline: the last input frame copied to every lead time.
Tensor persistence(const Tensor& x, int64_t out_frames);

}  // namespace sdkd::eval
