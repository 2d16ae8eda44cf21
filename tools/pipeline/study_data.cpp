#include "tools/pipeline/study_data.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"
#include "tools/pipeline/ns_data.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

StudyData load_study_data(const nlohmann::json& preset, const std::string& data_override) {
  const nlohmann::json& data_section = models::json_section(preset, "preset:", "data");
  auto data_field = [&](const char* key) {
    return models::json_string(models::json_required(data_section, "preset: data", key), "preset: data", key);
  };
  StudyData sd;
  sd.path = data_override.empty() ? data_field("file") : data_override;
  if (data_override.empty()) ensure_ns_data(data::ns_preset(data_field("preset")), sd.path, run_log().quiet);
  SDKD_CHECK(fs::exists(sd.path), sd.path, ": data file not found");
  sd.ds = std::make_shared<const data::SequenceDataset>(sd.path, window_from(preset), dataset_options(preset));
  const data::SequenceDataset& ds = *sd.ds;
  sd.ts = test_set(preset, ds);
  if (preset.contains("test") && data_override.empty()) {
    const auto& t = preset["test"];
    data::NSConfig cfg = data::ns_preset(data_field("preset"));
    cfg.trajectories = t.at("trajectories").get<int64_t>();
    cfg.seed = t.at("seed").get<uint64_t>();
    SDKD_CHECK(cfg.seed != data::ns_preset(data_field("preset")).seed, "preset: test.seed must differ from the data's (",
               cfg.seed, "): the same seed gives the same trajectories");
    const std::string test_path = t.at("file").get<std::string>();
    ensure_ns_data(cfg, test_path, run_log().quiet);
    sd.ts = extra_test_set(preset, test_path);
    const auto& td = *sd.ts.source;
    SDKD_CHECK(td.height() == ds.height() && td.width() == ds.width() && td.channels() == ds.channels(), test_path,
               ": the test frames are ", td.channels(), "x", td.height(), "x", td.width(), ", the data's ", ds.channels(),
               "x", ds.height(), "x", ds.width());
  } else if (preset.contains("test")) {
    note("--data given: the preset's extra test file is not used; the test set is the split's");
  }
  return sd;
}

}  // namespace sdkd::tools
