// Settings read from JSON are type- and range-checked before use and every error names the
// source and the field (issue 11 item 7): the readers of models/config_json.hpp, and the
// model and training configs built on them.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/toy.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/trainer.hpp"

using Catch::Matchers::Contains;
using namespace sdkd;
using nlohmann::json;

TEST_CASE("json_int accepts exact integers only and checks the range before converting", "[config]") {
  CHECK(models::json_int(json(10), "train", "epochs", 1, 100) == 10);
  CHECK(models::json_int(json(10.0), "train", "epochs", 1, 100) == 10);  // what a float-only writer emits
  CHECK(models::json_int(json(-1), "s", "k", -1, 5) == -1);
  CHECK(models::json_int(json(INT64_MIN), "s", "k", INT64_MIN, 0) == INT64_MIN);
  CHECK(models::json_int(json(INT64_MAX), "s", "k", 0, INT64_MAX) == INT64_MAX);
  CHECK_THROWS_WITH(models::json_int(json(1e30), "preset.json: train", "epochs", 1, 100000),
                    "preset.json: train.epochs must be an integer in [1, 100000], got 1e+30");
  CHECK_THROWS_WITH(models::json_int(json(1e19), "model", "hidden", 1, 4096),
                    "model.hidden must be an integer in [1, 4096], got 1e+19");
  CHECK_THROWS_WITH(models::json_int(json(2.5), "s", "k", 1, 10), "s.k must be an integer in [1, 10], got 2.5");
  CHECK_THROWS_WITH(models::json_int(json(UINT64_MAX), "s", "k", 0, INT64_MAX), Contains("got 18446744073709551615"));
  CHECK_THROWS_WITH(models::json_int(json(-5), "s", "k", 0, 10), "s.k must be an integer in [0, 10], got -5");
  CHECK_THROWS_WITH(models::json_int(json(0), "s", "k", 1, 10), "s.k must be an integer in [1, 10], got 0");
  CHECK_THROWS_WITH(models::json_int(json("ten"), "f.json: train", "epochs", 1, 10),
                    "f.json: train: key 'epochs' has the wrong type: expected an integer in [1, 10], got \"ten\"");
  CHECK(models::json_uint(json(UINT64_MAX), "s", "seed") == UINT64_MAX);
  CHECK_THROWS_WITH(models::json_uint(json(-1), "s", "seed"), Contains("s.seed must be an integer in [0, "));
  // A file's top level is "file:".
  CHECK_THROWS_WITH(models::json_uint(json(-1), "p.json:", "split_seed"), Contains("p.json: split_seed must be"));
}

TEST_CASE("numbers, sections and JSON texts are checked with the field named", "[config]") {
  CHECK_THROWS_WITH(models::json_number(json(0.0), "train", "lr", {0, true}),
                    "train.lr must be a finite number > 0, got 0");
  CHECK_THROWS_WITH(models::json_numbers(json{0.25, -1}, "kd", "cutoffs", {0, true}),
                    "kd.cutoffs[1] must be a finite number > 0, got -1");
  CHECK_THROWS_WITH(models::check_number(std::nan(""), "train", "lr"), Contains("train.lr must be a finite number"));
  CHECK_THROWS_WITH(models::json_strings(json{"latent", 3}, "kd", "taps"), Contains("key 'taps[1]' has the wrong type"));
  CHECK_THROWS_WITH(models::json_section(json{{"train", {1}}}, "p.json:", "train"),
                    "p.json: key 'train' has the wrong type: expected a JSON object {...}, got [1]");
  CHECK(models::json_section(json{{"train", nullptr}}, "p.json:", "train").empty());  // absent or null: defaults
  CHECK_THROWS_WITH(models::parse_json("{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}",
                                       "deep.json"),
                    Contains("deep.json: JSON nested deeper than 64 levels"));
  CHECK_THROWS_WITH(models::parse_json("{\"epochs\": 1e400}", "p.json"),
                    Contains("p.json: not valid JSON") && Contains("1e400"));
  CHECK(models::parse_json("{\"a\": [[1]]}", "p.json")["a"][0][0] == 1);
}

TEST_CASE("model configs refuse absurd widths from JSON and from code before allocating", "[config][models]") {
  CHECK_THROWS_WITH(models::ModelConfig::from_json({{"hidden", int64_t(1) << 40}}, "preset.json: model"),
                    "preset.json: model.hidden must be an integer in [1, 4096], got 1099511627776");
  CHECK_THROWS_WITH(models::ModelConfig::from_json(json(5), "preset.json: model"),
                    "preset.json: model: expected a JSON object {...}, got 5");
  CHECK_THROWS_WITH(models::ModelConfig::from_json({{"name", 5}}), Contains("model: key 'name' has the wrong type"));
  auto cfg = test::toy_unet_config();
  cfg.hidden = int64_t(1) << 40;
  Generator g(1);
  CHECK_THROWS_WITH(models::make_model(cfg, g), "model.hidden must be an integer in [1, 4096], got 1099511627776");
  cfg = test::toy_unet_config();
  cfg.height = int64_t(1) << 40;
  CHECK_THROWS_WITH(models::make_model(cfg, g), Contains("model.height must be an integer in [1, 16384]"));
}

TEST_CASE("train configs check every integer and number with the file and the field named", "[config][train]") {
  const std::string where = "preset.json: train";
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"epochs", 1e30}}, where),
                    "preset.json: train.epochs must be an integer in [1, 100000], got 1e+30");
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"batch_size", 0}}, where),
                    "preset.json: train.batch_size must be an integer in [1, 100000], got 0");
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"lr", -1}}, where), Contains("train.lr must be a finite number > 0"));
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"seed", -1}}, where), Contains("train.seed must be an integer"));
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"adamw", 1}}, where), Contains("key 'adamw' has the wrong type"));
  CHECK_THROWS_WITH(train::TrainConfig::from_json(json{1}, where),
                    "preset.json: train: expected a JSON object {...}, got [1]");
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"schedule", "sawtooth"}}, where), Contains("'sawtooth'"));
  CHECK_THROWS_WITH(train::TrainConfig::from_json({{"epoch", 3}}, where), Contains("unknown key 'epoch'"));
  const auto c = train::TrainConfig::from_json({{"epochs", 3.0}, {"batch_size", 4}, {"lr", 1e-3}, {"seed", 7}});
  CHECK(c.epochs == 3);
  CHECK(c.seed == 7);
  CHECK(train::TrainConfig::from_json(c.to_json()).to_json() == c.to_json());
}

TEST_CASE("check_keys refuses an unknown key, suggesting the nearest known one", "[config]") {
  const std::vector<std::string> known = {"input_frames", "output_frames", "stride"};
  CHECK_NOTHROW(models::check_keys(json{{"stride", 1}, {"input_frames", 2}}, "p.json: window", known));
  CHECK_NOTHROW(models::check_keys(json::object(), "p.json: window", known));
  CHECK_THROWS_WITH(models::check_keys(json{{"output_frame", 1}}, "p.json: window", known),
                    Contains("p.json: window: unknown key 'output_frame' (did you mean 'output_frames'?)") &&
                        Contains("known keys: input_frames, output_frames, stride"));
  // Too far from every known key for a guess: only the list.
  const auto far = [&] { models::check_keys(json{{"colour", 1}}, "p.json: window", known); };
  CHECK_THROWS_WITH(far(), Contains("unknown key 'colour'; known keys:"));
  CHECK_THROWS_WITH(models::check_keys(json{{"windw", 1}}, "p.json", {"window", "data"}),
                    Contains("(did you mean 'window'?)"));
}
