#pragma once
// The overview of a `sdkd study` over its regimes: <out>/study_<name>.json (per regime and arm the
// chosen candidate, the test MSE over seeds, the paired change against the student alone and
// the gap to the teacher closed, each with its 95 % interval), <out>/study_<name>.md, its table,
// and with several regimes <out>/study_<name>_gap.svg, gap closed per regime and arm. Named by
// the study, so studies that share a folder (and its teacher) keep their own overviews.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/pipeline/study_plan.hpp"

namespace sdkd::tools {

// metrics: each regime's metrics.json content (write_regime_outputs), in plan order.
// Returns the overview's JSON.
nlohmann::json write_study_overview(const StudyPlan& plan, const std::vector<nlohmann::json>& metrics,
                                    const std::vector<std::string>& regime_dirs, const std::string& out);

// The markdown table of the overview's JSON.
std::string study_overview_markdown(const nlohmann::json& overview);

}  // namespace sdkd::tools
