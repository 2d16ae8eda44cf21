#pragma once
// A study's data and test set: the preset's data file (generated and cached when missing) or
// --data, and its test windows: the split's, or the preset's extra test file of trajectories
// generated from another seed (the "test" section) when the study runs on the preset's data.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tools/pipeline/windows.hpp"

namespace sdkd::tools {

struct StudyData {
  std::string path;                                  // the data file
  std::shared_ptr<const data::SequenceDataset> ds;   // training, validation (and test split)
  TestSet ts;
};

// data_override: the command line's --data ("" for the preset's own, generated if missing);
// the extra test file is then not used (its trajectories are generated like the preset's data).
StudyData load_study_data(const nlohmann::json& preset, const std::string& data_override);

}  // namespace sdkd::tools
