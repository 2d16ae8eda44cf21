#pragma once
// What a study writes for one regime: the table and the summary printed, and in its folder
// metrics.json, panels.png and the report (report.md and its figures).
#include <string>

#include <nlohmann/json.hpp>

#include "tools/pipeline/study_data.hpp"
#include "tools/pipeline/study_runner.hpp"

namespace sdkd::tools {

// title: the line above the table ("sdkd demo (demo preset, 2 threads)"); preset: the
// regime's preset (metrics.json "preset", the panels' window). Returns metrics.json's content.
nlohmann::json write_regime_outputs(const RegimeResult& res, const nlohmann::json& preset, const StudyData& data,
                                    const std::string& title);

}  // namespace sdkd::tools
