#pragma once
// The teachers of a study: trained once, reused while their settings match.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Trains the preset's teacher (its "model" and "train" sections) into dir unless a finished
// run with the same settings (dir/done.json) is there, and returns its best checkpoint loaded.
// train_seconds: the training time, this run's or the reused run's.
std::shared_ptr<models::Forecaster> ensure_teacher(const nlohmann::json& preset, const nlohmann::json& teacher,
                                                    const data::SequenceDataset& ds, const std::string& dir,
                                                    double& train_seconds);

}  // namespace sdkd::tools
