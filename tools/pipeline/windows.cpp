#include "tools/pipeline/windows.hpp"

#include <nlohmann/json.hpp>

#include "sdkd/datasets/split.hpp"
#include "sdkd/eval/image_metrics.hpp"
#include "sdkd/models/config_json.hpp"
#include "tools/pipeline/presets.hpp"
#include "sdkd/train/trainer.hpp"
#include "sdkd/error.hpp"

namespace sdkd::tools {

data::WindowSpec window_from(const nlohmann::json& preset) {
  data::WindowSpec w;
  if (preset.contains("window")) {
    const auto& j = preset["window"];
    // The range of check_preset (tools/pipeline/presets.cpp), for presets edited by overrides.
    auto frames = [&](const char* key, int fallback) {
      return j.contains(key) ? int(models::json_int(j[key], "preset: window", key, 1, 1000)) : fallback;
    };
    w.input_frames = frames("input_frames", 10);
    w.output_frames = frames("output_frames", 10);
    w.stride = frames("stride", 10);
  }
  return w;
}

data::DatasetOptions dataset_options(const nlohmann::json& preset) {
  data::DatasetOptions o;
  if (!preset.contains("data") || !preset["data"].is_object()) return o;
  const auto& d = preset["data"];
  auto text = [&](const char* key) { return d.contains(key) ? models::json_string(d[key], "preset: data", key) : ""; };
  o.var = text("var");
  o.layout = text("layout");
  if (d.contains("loader")) o.loader = text("loader");  // checked by check_data_section: auto, ram or stream
  return o;
}

namespace {
int64_t eval_batch(const nlohmann::json& preset) {
  if (preset.contains("eval") && preset["eval"].contains("batch_size"))
    return models::json_int(preset["eval"]["batch_size"], "preset: eval", "batch_size", 1, train::kMaxBatchSize);
  return TestSet{}.batch;
}
}  // namespace

TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds) {
  TestSet ts;
  const auto split = data::split_indices(ds.trajectories(), split_seed(preset));
  ts.windows = ds.windows(split.test);
  ts.data_range = eval::target_range(ds, ts.windows);
  ts.batch = eval_batch(preset);
  return ts;
}

TestSet extra_test_set(const nlohmann::json& preset, const std::string& file) {
  TestSet ts;
  auto src = std::make_shared<const data::SequenceDataset>(file, window_from(preset), dataset_options(preset));
  std::vector<int64_t> all(size_t(src->trajectories()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  ts.windows = src->windows(all);
  SDKD_CHECK(!ts.windows.empty(), file, ": the test file holds no forecasting window");
  ts.data_range = eval::target_range(*src, ts.windows);
  ts.batch = eval_batch(preset);
  ts.source = std::move(src);
  return ts;
}

}  // namespace sdkd::tools
