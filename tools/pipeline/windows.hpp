#pragma once
// The forecasting windows a preset asks for: its window layout, the array they come from and
// its test split.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"

namespace sdkd::tools {

// The preset's "window" section (input/output frames, stride); defaults without one.
data::WindowSpec window_from(const nlohmann::json& preset);

// Which array of the data file and its axis order: the preset's "data" section's "var" and
// "layout" (strings; --var/--layout set them, tools/options.hpp); empty without them.
data::DatasetOptions dataset_options(const nlohmann::json& preset);

// The test windows and the SSIM/PSNR data range computed from them: the preset's test split
// of the study's data, or every window of a separate test file (`source`, set by
// extra_test_set) when the preset asks for more test trajectories than its split holds.
struct TestSet {
  std::vector<std::pair<int64_t, int64_t>> windows;
  double data_range = 1;
  int64_t batch = 20;
  std::shared_ptr<const data::SequenceDataset> source;  // null: the windows are the study data's

  // The array the windows index: source, or the study's own data.
  const data::SequenceDataset& data(const data::SequenceDataset& study) const { return source ? *source : study; }
};
TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds);
// Every window of `file` as the test set (its trajectories are test data only), with the
// preset's evaluation batch.
TestSet extra_test_set(const nlohmann::json& preset, const std::string& file);

}  // namespace sdkd::tools
