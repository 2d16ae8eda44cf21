#pragma once
// The conclusions of a study: per KD method, means over seeds and paired differences against
// the student alone; the best teacher's gap and cost ratios.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/pipeline/eval_row.hpp"

namespace sdkd::tools {

struct StudySummary {
  std::vector<std::string> lines;  // printed, and metrics.json "summary_lines"
  nlohmann::json json;             // metrics.json "summary"
};

// rows: teachers (role "teacher"), students (role "student", kd = the method's name, in seed
// order per method) and baselines. methods: the KD method names run (distill::kd_method_name),
// in order; "none" is the student alone that the other methods are compared with.
StudySummary summarize_study(const std::vector<EvalRow>& rows, const std::vector<std::string>& methods);

}  // namespace sdkd::tools
