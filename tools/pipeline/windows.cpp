#include "tools/pipeline/windows.hpp"

#include <nlohmann/json.hpp>

#include "datasets/split.hpp"
#include "eval/image_metrics.hpp"

namespace sdkd::tools {

data::WindowSpec window_from(const nlohmann::json& preset) {
  data::WindowSpec w;
  if (preset.contains("window")) {
    const auto& j = preset["window"];
    w.input_frames = j.value("input_frames", 10);
    w.output_frames = j.value("output_frames", 10);
    w.stride = j.value("stride", 10);
  }
  return w;
}

TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds) {
  TestSet ts;
  const auto split = data::split_indices(ds.trajectories(), preset.value("split_seed", uint64_t(0)));
  ts.windows = ds.windows(split.test);
  ts.data_range = eval::target_range(ds, ts.windows);
  if (preset.contains("eval")) ts.batch = preset["eval"].value("batch_size", int64_t(20));
  return ts;
}

}  // namespace sdkd::tools
