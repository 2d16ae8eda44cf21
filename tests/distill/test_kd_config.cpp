// The kd section and distilled training on bad input (issue 11 item 7): every value type- and
// range-checked with the file and the field named; distillation runs through the trainer's
// checks (a batch size of 0 is refused before anything divides by it).
#include <catch2/catch.hpp>

#include "common/toy.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/error.hpp"
#include "sdkd/spectral_loss.hpp"

#include <cmath>

using Catch::Matchers::Contains;
using namespace sdkd;
using nlohmann::json;

TEST_CASE("kd config: wrong types and out-of-range numbers name the file and the field", "[distiller][limits]") {
  const std::string where = "preset.json: kd";
  CHECK_THROWS_WITH(distill::KDConfig::from_json(json{1}, where), "preset.json: kd: expected a JSON object {...}, got [1]");
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"lambda", -1}}, where),
                    "preset.json: kd.lambda must be a finite number >= 0, got -1");
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {0.25, 0}}}, where),
                    "preset.json: kd.cutoffs[1] must be a finite number > 0, got 0");
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", "low"}}, where),
                    Contains("preset.json: kd: key 'cutoffs' has the wrong type: expected a list of numbers"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"taps", {"latent", 2}}}, where), Contains("key 'taps[1]'"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"aekd_c", 0}}, where), Contains("kd.aekd_c must be a finite number > 0"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"adaptive", "yes"}}, where), Contains("key 'adaptive' has the wrong"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"alfa", 1}}, where), Contains("preset.json: kd: unknown key 'alfa'"));
  const auto c = distill::KDConfig::from_json({{"method", "sdkd"}, {"gamma", -0.5}, {"cutoffs", {0.2, 0.5}}});
  CHECK(c.spectral.gamma == -0.5);
  CHECK(c.spectral.cutoffs.size() == 2);
}

TEST_CASE("kd config: cutoffs that leave a band empty or out of order are refused", "[distiller][limits]") {
  const std::string where = "preset.json: kd";
  // rho reaches sqrt(2) only at the corners: a cutoff there or above leaves the band above it
  // empty. The band counts of a 64 x 64 map show it the other way.
  const double rho_max = std::sqrt(2.0);
  CHECK(band_bin_counts({{1.414}}, 64, 64).back() > 0);
  CHECK(band_bin_counts({{rho_max}}, 64, 64).back() == 0);
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {2}}}, where),
                    Contains("preset.json: kd.cutoffs[0] must be below sqrt(2) = 1.41421") && Contains("got 2"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {0.25, rho_max}}}, where), Contains("kd.cutoffs[1] must be below"));
  CHECK_NOTHROW(distill::KDConfig::from_json({{"cutoffs", {0.25, 1.4}}}, where));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {0.5, 0.2}}}, where),
                    "preset.json: kd.cutoffs must be strictly increasing, got 0.5 then 0.2");
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {0.5, 0.5}}}, where), Contains("strictly increasing"));
  // One weight per band: K = cutoffs + 1.
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"cutoffs", {0.2, 0.5}}, {"band_weights", {1, 2}}}, where),
                    "preset.json: kd.band_weights must give one weight per band: 3 for 2 cutoff(s), got 2");
  CHECK(distill::KDConfig::from_json({{"cutoffs", {0.2, 0.5}}, {"band_weights", {1, 2, 3}}}, where)
            .spectral.band_weights.size() == 3);
}

TEST_CASE("distilled training refuses a batch size of 0 before dividing by it", "[distiller][limits]") {
  const data::SequenceDataset ds = test::noise_flow(12, 4, 8, "noise");
  const auto split = data::split_indices(12, 1);
  models::ModelConfig tc = test::toy_config("simvp", {2, 2, 8, 8});
  tc.N_T = 1;
  auto student = test::toy_model(test::toy_unet_config(), 1);
  distill::KDConfig kc;
  kc.method = distill::KDMethod::sdkd;
  Generator g(2);
  distill::Distiller d(kc, *student, {{"t", test::toy_model(tc, 2)}}, g);
  const test::TempDir dir("kd_batch0");
  train::TrainConfig cfg;
  cfg.batch_size = 0;
  cfg.quiet = true;
  cfg.out_dir = dir.str();
  CHECK_THROWS_WITH(train::train_forecaster(*student, ds, split, cfg, d.hooks()),
                    "train.batch_size must be an integer in [1, 100000], got 0");
  CHECK(dir.count() == 0);
}
