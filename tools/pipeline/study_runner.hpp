#pragma once
// Running a study plan (tools/pipeline/study_plan.hpp): teachers trained once and shared by
// every regime that names them alike, then per regime every arm's candidates on every seed,
// each run trained once into its folder and reused while its settings match (students.hpp).
// An arm with several candidates is decided on the validation split (lowest mean validation
// MSE over the seeds); only the chosen candidate's runs are scored on the test set.
//
// Folders under out: teacher_<name>/ and [<regime>/]student_<arm>[_c<k>]_s<seed>/ (k: the
// candidate's index when the arm has a grid).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/pipeline/eval_row.hpp"
#include "sdkd/distill/distiller.hpp"  // TeacherModel
#include "tools/pipeline/forward.hpp"
#include "tools/pipeline/study_data.hpp"
#include "tools/pipeline/study_plan.hpp"

namespace sdkd::tools {

// One regime's scored runs.
struct RegimeResult {
  std::string name;                   // "" for a study without regimes
  std::string dir;                    // out, or out/<name>
  std::vector<EvalRow> rows;          // teachers, chosen students (seed-major, arms in plan order), persistence
  std::vector<std::string> run_dirs;  // per row, its folder relative to dir ("" for the baseline)
  std::vector<std::string> arms;      // arm names in plan order ("none" the reference)
  nlohmann::json selection = nlohmann::json::object();  // per arm with a grid: candidates, validation MSE, choice
  std::vector<distill::TeacherModel> teachers;
  std::map<std::string, std::shared_ptr<models::Forecaster>> first_seed;  // per arm: the chosen run of seed 0
};

// The candidate with the lowest mean validation MSE over seeds (the first of equal means);
// val_mse[c][s]: candidate c on seed s.
size_t choose_candidate(const std::vector<std::vector<double>>& val_mse);

// Trains (or reuses) and scores every run of the plan; progress lines count every run.
std::vector<RegimeResult> run_study(const StudyPlan& plan, const StudyData& data, const std::string& out);

}  // namespace sdkd::tools
