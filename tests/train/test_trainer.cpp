#include <catch2/catch.hpp>
#include <filesystem>

#include "common/toy.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/eval/metrics.hpp"
#include "sdkd/train/trainer.hpp"

using namespace sdkd;
using test::toy_unet_config;
namespace fs = std::filesystem;

namespace {
// A learnable toy flow: each frame is the previous one shifted right by one pixel.
data::SequenceDataset shifting_blobs(int64_t n, int64_t T, int64_t H) {
  Generator g(77);
  Tensor base = Tensor::randn({n, 1, 1, H, H}, g);
  Tensor v = Tensor::empty({n, T, 1, H, H});
  const float* b = base.data<float>();
  float* p = v.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < H; ++c) p[((i * T + t) * H + r) * H + c] = b[(i * H + r) * H + (c - t + 64 * H) % H];
  return data::SequenceDataset(v, test::kToyWindows, "toy");
}
}  // namespace

TEST_CASE("metrics match hand computations, persistence copies the last frame", "[metrics]") {
  const Tensor truth = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 2, 2, 2, 2}, {1, 2, 1, 2, 2});
  const Tensor pred = Tensor::from_vector(std::vector<float>{1, 2, 3, 5, 0, 2, 2, 2}, {1, 2, 1, 2, 2});
  eval::MetricAccumulator acc;
  acc.add(pred, truth);
  const auto m = acc.result();
  CHECK(m.mse_per_lead[0] == Approx(0.25));
  CHECK(m.mse_per_lead[1] == Approx(1.0));
  CHECK(m.mse == Approx(0.625));
  CHECK(m.mae == Approx(3.0 / 8));
  CHECK(m.rel_l2 == Approx(std::sqrt(5.0 / 46.0)));
  CHECK(m.rel_l2_per_lead[1] == Approx(std::sqrt(4.0 / 16.0)));
  // Per sample: a second sample of error 2 everywhere; the samples' MSEs average to the MSE.
  const Tensor pred2 = Tensor::from_vector(std::vector<float>{3, 4, 5, 6, 4, 4, 4, 4}, {1, 2, 1, 2, 2});
  acc.add(pred2, truth);
  const auto m2 = acc.result();
  REQUIRE(m2.mse_per_sample.size() == 2);
  CHECK(m2.mse_per_sample[0] == Approx(0.625));
  CHECK(m2.mse_per_sample[1] == Approx(4.0));
  CHECK(m2.mse == Approx((m2.mse_per_sample[0] + m2.mse_per_sample[1]) / 2));
  const Tensor x = Tensor::from_vector(std::vector<float>{9, 9, 9, 9, 1, 2, 3, 4}, {1, 2, 1, 2, 2});
  const auto p = eval::persistence(x, 3).to_float_vector();
  REQUIRE(p.size() == 12);
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 4; ++i) CHECK(p[size_t(t * 4 + i)] == float(i + 1));
}

TEST_CASE("dataset windows, batches and split", "[data]") {
  auto ds = shifting_blobs(10, 6, 8);
  const auto ws = ds.windows({3});
  REQUIRE(ws.size() == 2);  // starts 0 and 2 (4-frame windows, stride 2, 6 frames)
  CHECK(ws[1] == std::make_pair(int64_t(3), int64_t(2)));
  auto [x, y] = ds.batch(ws);
  CHECK(x.shape() == Shape{2, 2, 1, 8, 8});
  const auto vals = ds.values().to_float_vector();
  CHECK(y.to_float_vector()[0] == vals[size_t((3 * 6 + 2) * 64)]);
  CHECK(x.to_float_vector()[64 * 2] == vals[size_t((3 * 6 + 2) * 64)]);
  const auto s = data::split_indices(1200, 0);
  CHECK(s.train.size() == 960);
  CHECK(s.val.size() == 120);
  CHECK(s.test.size() == 120);
  std::vector<int> seen(1200, 0);
  for (auto v : {s.train, s.val, s.test})
    for (auto i : v) seen[size_t(i)]++;
  for (int c : seen) CHECK(c == 1);
  CHECK(data::split_indices(1200, 0).test == s.test);
  CHECK(data::split_indices(1200, 1).test != s.test);
}

TEST_CASE("training lowers the validation error below persistence on a learnable flow", "[train]") {
  auto ds = shifting_blobs(24, 4, 8);
  const auto split = data::split_indices(24, 1);
  Generator g(3);
  auto model = models::make_model(toy_unet_config(), g);
  train::TrainConfig cfg;
  cfg.epochs = 25;
  cfg.batch_size = 4;
  cfg.lr = 3e-3;
  const test::TempDir out("test_learn");
  cfg.out_dir = out.str();
  cfg.quiet = true;
  const auto res = train::train_forecaster(*model, ds, split, cfg);
  const auto val = ds.windows(split.val);
  const auto pers = eval::evaluate([](const Tensor& x) { return eval::persistence(x, 2); }, ds, val, 4);
  CHECK(res.best_val_mse < 0.5 * pers.mse);
  CHECK(res.history.back().train_loss < 0.5 * res.history.front().train_loss);
  CHECK(fs::exists(fs::path(cfg.out_dir) / "best.safetensors"));
}

TEST_CASE("a resumed run reproduces the uninterrupted losses bit for bit", "[train]") {
  auto ds = shifting_blobs(12, 4, 8);
  const auto split = data::split_indices(12, 2);
  train::TrainConfig cfg;
  cfg.epochs = 4;
  cfg.batch_size = 3;
  cfg.lr = 2e-3;
  cfg.quiet = true;
  cfg.seed = 5;

  const test::TempDir straight_dir("test_straight"), resumed_dir("test_resumed");
  cfg.out_dir = straight_dir.str();
  Generator g1(8);
  auto straight = models::make_model(toy_unet_config(), g1);
  const auto full = train::train_forecaster(*straight, ds, split, cfg);

  cfg.out_dir = resumed_dir.str();
  Generator g2(8);
  auto first = models::make_model(toy_unet_config(), g2);
  auto part_cfg = cfg;
  part_cfg.epochs = 2;  // "killed" after two epochs
  const auto part1 = train::train_forecaster(*first, ds, split, part_cfg);
  Generator g3(1234);  // a different init: everything must come from the checkpoint
  auto second = models::make_model(toy_unet_config(), g3);
  auto resume_cfg = cfg;
  resume_cfg.resume = true;
  const auto part2 = train::train_forecaster(*second, ds, split, resume_cfg);

  std::vector<double> joined = part1.step_losses;
  joined.insert(joined.end(), part2.step_losses.begin(), part2.step_losses.end());
  REQUIRE(joined.size() == full.step_losses.size());
  for (size_t i = 0; i < joined.size(); ++i) CHECK(joined[i] == full.step_losses[i]);
  REQUIRE(part2.history.size() == 4);
  CHECK(part2.history[3].val_mse == full.history[3].val_mse);
}

TEST_CASE("train.trajectories: the run of a split cut to its first N training trajectories", "[train]") {
  auto ds = shifting_blobs(20, 4, 8);
  const auto split = data::split_indices(20, 3);
  REQUIRE(split.train.size() == 16);
  train::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 3;
  cfg.quiet = true;
  cfg.seed = 4;
  cfg.trajectories = 5;
  const test::TempDir a("test_subset_a"), b("test_subset_b"), c("test_subset_c");
  cfg.out_dir = a.str();
  Generator g1(8), g2(8), g3(8);
  auto m1 = models::make_model(toy_unet_config(), g1);
  const auto sub = train::train_forecaster(*m1, ds, split, cfg);
  // By hand: the same split with its training part cut, validation as it was.
  data::Split cut = split;
  cut.train.resize(5);
  auto all_cfg = cfg;
  all_cfg.trajectories = 0;
  all_cfg.out_dir = b.str();
  auto m2 = models::make_model(toy_unet_config(), g2);
  const auto by_hand = train::train_forecaster(*m2, ds, cut, all_cfg);
  CHECK(sub.step_losses == by_hand.step_losses);
  REQUIRE(sub.history.size() == by_hand.history.size());
  for (size_t i = 0; i < sub.history.size(); ++i) CHECK(sub.history[i].val_mse == by_hand.history[i].val_mse);
  CHECK(sub.step_losses.size() == 2 * ((ds.windows(cut.train).size() + 2) / 3));
  CHECK(train::training_trajectories(split, all_cfg) == split.train);
  // More than the split holds: one error, nothing written.
  cfg.trajectories = 17;
  cfg.out_dir = c.str();
  auto m3 = models::make_model(toy_unet_config(), g3);
  CHECK_THROWS_WITH(train::train_forecaster(*m3, ds, split, cfg),
                    "train.trajectories 17 is more than the training split holds (16 trajectories); ask for at most "
                    "that many, or 0 for all");
  CHECK(c.count() == 0);
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"trajectories", -1}}),
                    Catch::Contains("train.trajectories must be an integer in [0, 1000000000], got -1"));
}
