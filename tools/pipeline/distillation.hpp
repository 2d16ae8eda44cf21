#pragma once
// Training a student from frozen teachers with the preset's "kd" section.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tools/pipeline/training.hpp"  // TrainedModel

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Like train_from_preset, with the distillation loss of the preset's "kd" section against
// the teachers (none: plain MSE training with the same initialisation).
TrainedModel distill_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                 const std::vector<distill::TeacherModel>& teachers, const std::string& out_dir,
                                 bool resume);

}  // namespace sdkd::tools
