#pragma once
// The report of a study folder: report.md, lead_time.svg and spectrum.svg.
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace sdkd::tools {

// report.md, lead_time.svg and spectrum.svg of a run folder from its metrics.json content
// (rows, summary_lines, description); `sdkd demo` writes them, `sdkd report` re-runs this on
// a finished run.
void write_study_report(const std::string& out_dir, const nlohmann::json& metrics);

}  // namespace sdkd::tools
