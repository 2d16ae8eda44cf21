#pragma once
// The panels figure of a study: one test trajectory's truth, and each shown model's forecast
// and error, side by side per lead time, with colour bars and a title naming what is shown.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

struct PanelRun {
  std::string name;    // report::run_name(): row title and colour ("teacher simvp", "student alone")
  std::string detail;  // what the title adds to the name ("unet seed 0"); may be empty
  models::Forecaster* model = nullptr;
};

// <out_dir>/panels.png for the first window of the first test trajectory of the preset's split:
// rows truth, then each run's forecast (model.predict: the data's units), then each run's
// error (forecast - truth); columns about five lead times. Forecast rows share the truth's
// colour range, error rows one range of their own; a colour bar shows each.
void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::vector<PanelRun>& runs,
                  const std::string& out_dir);

}  // namespace sdkd::tools
