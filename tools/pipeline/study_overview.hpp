#pragma once
// The overview of a `sdkd study` over its regimes: <out>/study.json (per regime and arm the
// chosen candidate, the test MSE over seeds, the paired change against the student alone and
// the gap to the teacher closed, each with its 95 % interval) and <out>/study.md, its table.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/pipeline/study_plan.hpp"

namespace sdkd::tools {

// metrics: each regime's metrics.json content (write_regime_outputs), in plan order.
// Returns study.json's content.
nlohmann::json write_study_overview(const StudyPlan& plan, const std::vector<nlohmann::json>& metrics,
                                    const std::vector<std::string>& regime_dirs, const std::string& out);

// study.md's text from study.json's content.
std::string study_overview_markdown(const nlohmann::json& overview);

}  // namespace sdkd::tools
