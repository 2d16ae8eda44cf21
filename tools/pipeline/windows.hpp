#pragma once
// The forecasting windows a preset asks for: its window layout, the array they come from and
// its test split.
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "datasets/sequence_dataset.hpp"

namespace sdkd::tools {

// The preset's "window" section (input/output frames, stride); defaults without one.
data::WindowSpec window_from(const nlohmann::json& preset);

// Which array of the data file and its axis order: the preset's "data" section's "var" and
// "layout" (strings; --var/--layout set them, tools/options.hpp); empty without them.
data::DatasetOptions dataset_options(const nlohmann::json& preset);

// The test windows of the preset's split and the SSIM/PSNR data range computed from them.
struct TestSet {
  std::vector<std::pair<int64_t, int64_t>> windows;
  double data_range = 1;
  int64_t batch = 20;
};
TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds);

}  // namespace sdkd::tools
