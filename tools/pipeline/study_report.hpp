#pragma once
// The report of a study folder: report.md, lead_time.svg, spectrum.svg and training.svg.
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace sdkd::tools {

// report.md (headline, table, summary, figures, provenance), lead_time.svg, spectrum.svg and,
// from each row's run_dir/history.json, training.svg of a run folder from its metrics.json
// content (rows, summary, summary_lines, description, provenance); `sdkd demo` writes them,
// `sdkd report` re-runs this on a finished run.
void write_study_report(const std::string& out_dir, const nlohmann::json& metrics);

}  // namespace sdkd::tools
