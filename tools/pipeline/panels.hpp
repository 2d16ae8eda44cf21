#pragma once
// The panels figure of a study: one test sample's truth, forecast and errors.
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Truth / prediction / error / persistence-error panels of the first test window of the
// preset's split, written to <out_dir>/panels.png.
void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, models::Forecaster& model,
                  const std::string& out_dir);

}  // namespace sdkd::tools
