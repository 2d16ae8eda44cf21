#pragma once
// The plan of a study: regimes x arms x hyperparameter candidates x paired seeds, each run one
// preset (the base preset with the regime's, the arm's and the candidate's patches merged in).
// `sdkd demo` builds it from a preset's "study" section; `sdkd study --config FILE` reads it:
//
//   {"name": "lambda", "about": "...",
//    "preset": "demo",                           base: an embedded preset or a JSON file
//    "patch": {"train": {"epochs": 10}},         merged into the base (RFC 7386 merge patch)
//    "seeds": 5,                                 paired seeds (default: the base's study.seeds)
//    "regimes": [{"name": "w4", "patch": {"model": {"hidden": 4}}}, ...],   optional
//    "arms": [{"name": "none"},                  the student alone (kd.method "none" implied)
//             {"name": "sdkd", "patch": {"kd": {"method": "sdkd"}},
//              "grid": {"kd.lambda": [0.25, 0.5, 1.0]}}]}
//
// An arm with a grid has one candidate per combination of its values; all are trained on
// every seed, the one with the lowest mean validation MSE is chosen, and only it is scored on
// the test set (tools/pipeline/study_runner.hpp).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdkd::tools {

struct StudyCandidate {
  std::string label;    // "lambda=0.5,alpha=2", "" for an arm without a grid
  nlohmann::json patch; // the grid values as a merge patch ({} without a grid)
};

struct StudyArm {
  std::string name;     // the row's "kd" in tables and metrics.json; "none" is the reference
  nlohmann::json patch;
  std::vector<StudyCandidate> candidates;  // at least one
};

struct StudyRegime {
  std::string name;     // "" for the one regime of a study without "regimes"
  nlohmann::json patch;
};

struct StudyPlan {
  std::string name, about;
  nlohmann::json base;  // the base preset with the study's own patch merged in
  int seeds = 1;
  std::vector<StudyRegime> regimes;
  std::vector<StudyArm> arms;

  // The preset that trains (regime r, arm a, candidate c) on seed index s: train.seed is the
  // regime's train.seed + s, so seed s of every arm starts from the same initialisation.
  nlohmann::json run_preset(size_t r, size_t a, size_t c, int s) const;
  // The regime's preset (teachers, data and evaluation settings).
  nlohmann::json regime_preset(size_t r) const;
  // Trained runs in all: regimes x seeds x candidates of every arm.
  size_t run_count() const;
};

// The plan `sdkd demo` runs: one unnamed regime, an arm per method (kd.method = its name).
StudyPlan plan_from_preset(const nlohmann::json& preset, const std::vector<std::string>& methods, int seeds);

// A study config file, checked whole before anything trains: unknown keys (nearest known one
// named), names that are not plain folder names or repeat, no arm "none" or one that
// distils, a grid value that is not a non-empty list, a regime that changes the data, test or
// window (they are the study's), and every run's merged preset through check_preset. Each is
// one sdkd::Error naming the file and the field.
StudyPlan load_study_plan(const std::string& file);

// The candidates of a grid {"kd.lambda": [0.5, 1], "kd.alpha": [1, 2]}: the Cartesian product
// in key order, the last key varying fastest; each a merge patch of the dotted paths.
std::vector<StudyCandidate> grid_candidates(const nlohmann::json& grid, const std::string& where);

}  // namespace sdkd::tools
