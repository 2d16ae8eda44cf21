// Training with z-score normalisation (models/normalization.hpp): the model trains on the
// z-scored data exactly as a plain run on data z-scored beforehand, its statistics come from
// the training split alone and travel in both checkpoints, every metric is in the data's units,
// and a resume with other statistics is refused.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/toy.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/train/trainer.hpp"

using namespace sdkd;
using Catch::Matchers::Contains;
using models::DataNormalization;

namespace {

// Noise frames far from zero mean and unit spread, where normalisation matters.
Tensor offset_noise(int64_t n, int64_t frames) {
  Generator g(21);
  return Tensor::randn({n, frames, 1, 8, 8}, g) * 6.0 + 250.0;
}

train::TrainConfig quick(const std::string& out) {
  train::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 3;
  cfg.lr = 2e-3;
  cfg.quiet = true;
  cfg.seed = 11;
  cfg.out_dir = out;
  return cfg;
}

// Mean and std over the given trajectories' values, summed here in double by hand.
std::pair<double, double> by_hand(const Tensor& v, const std::vector<int64_t>& trajectories) {
  const auto all = v.to_float_vector();
  const int64_t per = v.numel() / v.size(0);
  double s = 0, n = 0;
  for (int64_t t : trajectories)
    for (int64_t i = 0; i < per; ++i) s += all[size_t(t * per + i)], n += 1;
  const double mean = s / n;
  double ss = 0;
  for (int64_t t : trajectories)
    for (int64_t i = 0; i < per; ++i) ss += (all[size_t(t * per + i)] - mean) * (all[size_t(t * per + i)] - mean);
  return {mean, std::sqrt(ss / n)};
}

}  // namespace

TEST_CASE("z-scored training is plain training on data z-scored beforehand", "[train][normalization]") {
  const Tensor raw = offset_noise(12, 6);
  const data::SequenceDataset ds(raw, test::kToyWindows, "offset");
  const auto split = data::split_indices(12, 3);
  const auto [mean, std] = by_hand(raw, split.train);
  const auto moments = ds.moments(split.train);
  CHECK(moments.first == Approx(mean).epsilon(1e-12));
  CHECK(moments.second == Approx(std).epsilon(1e-9));
  const auto norm = DataNormalization::z_score(moments.first, moments.second, "offset");

  // A: the raw data, the model carrying the statistics.
  const test::TempDir dir_a("norm_a"), dir_b("norm_b");
  auto a = test::toy_model(test::toy_unet_config(), 6);
  a->set_normalization(norm);
  const auto res_a = train::train_forecaster(*a, ds, split, quick(dir_a.str()));
  // B: the same values normalised up front with the same float operations, no normalisation.
  const data::SequenceDataset pre(norm.to_model(raw).contiguous(), test::kToyWindows, "pre-normalised");
  auto b = test::toy_model(test::toy_unet_config(), 6);
  const auto res_b = train::train_forecaster(*b, pre, split, quick(dir_b.str()));

  // The same loss at every step: the trainer fed the model (x - mean) / std and scored it
  // against (y - mean) / std.
  REQUIRE(res_a.step_losses.size() == res_b.step_losses.size());
  for (size_t i = 0; i < res_a.step_losses.size(); ++i) CHECK(res_a.step_losses[i] == res_b.step_losses[i]);
  // Validation MSE is in the data's units: std^2 times B's (up to the rounding of the map back).
  REQUIRE(res_a.history.size() == 2);
  for (size_t e = 0; e < 2; ++e)
    CHECK(res_a.history[e].val_mse == Approx(res_b.history[e].val_mse * std * std).epsilon(1e-4));

  // Both checkpoints carry the statistics, every digit; a plain run's carry none.
  for (const char* file : {"best.safetensors", "last.safetensors"}) {
    Metadata meta, plain;
    load_tensors(dir_a / file, &meta);
    REQUIRE(meta.count(models::kNormalizationKey));
    const auto back = DataNormalization::from_metadata(meta.at(models::kNormalizationKey), file);
    CHECK(back.mean == norm.mean);
    CHECK(back.std == norm.std);
    load_tensors(dir_b / file, &plain);
    CHECK(plain.count(models::kNormalizationKey) == 0);
  }
}

TEST_CASE("a normalised model's metrics are in the data's units, computed by hand", "[train][normalization]") {
  const Tensor raw = offset_noise(10, 4);
  const data::SequenceDataset ds(raw, test::kToyWindows, "offset");
  const auto split = data::split_indices(10, 4);
  const auto [mean, std] = ds.moments(split.train);
  auto model = test::toy_model(test::toy_unet_config(), 2);
  model->set_normalization(DataNormalization::z_score(mean, std, "offset"));
  const test::TempDir dir("norm_units");
  auto cfg = quick(dir.str());
  cfg.epochs = 1;  // the final model is the best one
  const auto res = train::train_forecaster(*model, ds, split, cfg);
  model->eval();

  // The validation MSE by hand: forward on z-scored inputs, p * std + mean against raw y.
  NoGradGuard ng;
  double se = 0, count = 0;
  for (const auto& w : ds.windows(split.val)) {
    auto [x, y] = ds.batch({w});
    std::vector<float> z = x.to_float_vector();
    for (auto& v : z) v = float((double(v) - mean) / std);
    const auto p = model->forward(Tensor::from_vector(z, x.shape())).pred.to_float_vector();
    const auto t = y.to_float_vector();
    for (size_t i = 0; i < p.size(); ++i) {
      const double d = double(p[i]) * std + mean - double(t[i]);
      se += d * d;
      count += 1;
    }
  }
  CHECK(res.best_val_mse == Approx(se / count).epsilon(1e-4));
  // On independent noise nothing beats predicting the mean, an MSE of about std^2 = 36 in the
  // data's units; left on the normalised scale the metric would be about 1.
  CHECK(res.best_val_mse > 0.5 * std * std);
}

TEST_CASE("resuming with other normalisation statistics is refused, naming both", "[train][normalization]") {
  const Tensor raw = offset_noise(10, 4);
  const data::SequenceDataset ds(raw, test::kToyWindows, "offset");
  const auto split = data::split_indices(10, 5);
  const auto [mean, std] = ds.moments(split.train);
  const test::TempDir dir("norm_resume");
  auto cfg = quick(dir.str());
  cfg.epochs = 1;
  auto first = test::toy_model(test::toy_unet_config(), 1);
  first->set_normalization(DataNormalization::z_score(mean, std, "offset"));
  train::train_forecaster(*first, ds, split, cfg);

  cfg.epochs = 2;
  cfg.resume = true;
  auto plain = test::toy_model(test::toy_unet_config(), 1);  // --normalize none this time
  CHECK_THROWS_WITH(train::train_forecaster(*plain, ds, split, cfg),
                    Contains("last.safetensors") && Contains("z-score") && Contains("none") && Contains("--normalize"));
  auto other = test::toy_model(test::toy_unet_config(), 1);
  other->set_normalization(DataNormalization::z_score(mean + std, std, "other"));
  CHECK_THROWS_WITH(train::train_forecaster(*other, ds, split, cfg), Contains("resume with the same data"));
  // The same statistics resume.
  auto same = test::toy_model(test::toy_unet_config(), 1);
  same->set_normalization(DataNormalization::z_score(mean, std, "offset"));
  const auto res = train::train_forecaster(*same, ds, split, cfg);
  CHECK(res.history.size() == 2);
}
