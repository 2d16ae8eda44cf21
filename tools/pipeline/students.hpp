#pragma once
// The students of a study: each (method, seed) run trained into its folder once, reused while
// its settings match, and continued where it stopped when a study was killed mid-run.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

struct StudentRun {
  std::shared_ptr<models::Forecaster> best;  // best.safetensors, loaded
  double train_seconds = 0;                  // over all sessions of the run
  bool reused = false;                       // a finished run with the same settings
};

// The settings a student run is identified by: the preset it trains with (its seed and
// method set), less the sections that do not change what it trains ("study", "eval", "name",
// "about"), the data's name, and for a KD run the teachers' own records (their done.json
// settings: a retrained teacher means retrained students).
nlohmann::json student_settings(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                const nlohmann::json& teacher_records);

// dir/done.json with the same settings: reused. dir/settings.json with the same settings and
// no done.json: a killed run, resumed from its last.safetensors. Anything else in dir is
// removed and the run starts afresh (the folder belongs to the study).
StudentRun ensure_student(const nlohmann::json& preset, const data::SequenceDataset& ds,
                          const std::vector<distill::TeacherModel>& teachers, const nlohmann::json& teacher_records,
                          const std::string& dir);

}  // namespace sdkd::tools
