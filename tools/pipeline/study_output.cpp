#include "tools/pipeline/study_output.hpp"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/pipeline/panels.hpp"
#include "tools/pipeline/study_report.hpp"
#include "tools/pipeline/study_summary.hpp"
#include "tools/provenance.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

nlohmann::json write_regime_outputs(const RegimeResult& res, const nlohmann::json& preset, const StudyData& data,
                                    const std::string& title) {
  const data::SequenceDataset& ds = *data.ds;
  const TestSet& ts = data.ts;
  // ---- summary: means over seeds, paired differences against the student alone ----
  StudySummary summary = summarize_study(res.rows, res.arms);
  // How each arm with a grid was decided, for the printout and the report's summary.
  for (const auto& [arm, sel] : res.selection.items()) {
    std::string line = str_cat("arm ", arm, ": ", sel["chosen_label"].get<std::string>(),
                               " chosen on validation (", sel["rule"].get<std::string>(), "; only it was scored on test):");
    for (const auto& c : sel["candidates"]) {
      char b[64];
      std::snprintf(b, sizeof b, " %.5f", c["val_mse_mean"].get<double>());
      line += " " + c["label"].get<std::string>() + b + ",";
    }
    line.back() = ' ';
    summary.lines.push_back(line.substr(0, line.size() - 1));
  }
  std::ostringstream table;
  print_table(res.rows, table);
  const std::string test_name = ts.source ? ts.source->name() : data.path;
  std::printf("\n%s, test %s of %s (%zu windows):\n\n%s\n", title.c_str(), ts.source ? "file" : "split",
              test_name.c_str(), ts.windows.size(), table.str().c_str());
  for (const auto& l : summary.lines) std::printf("%s\n", l.c_str());

  nlohmann::json metrics = rows_json(res.rows);
  for (size_t i = 0; i < res.rows.size(); ++i)
    if (!res.run_dirs[i].empty()) metrics["rows"][i]["run_dir"] = res.run_dirs[i];
  metrics["provenance"] = provenance();
  metrics["summary"] = summary.json;
  metrics["summary_lines"] = summary.lines;
  if (!res.selection.empty()) metrics["selection"] = res.selection;
  const std::string name = preset.value("name", std::string("custom"));
  metrics["description"] = str_cat("Preset `", name, "`, data `", data.path, "` (", ds.trajectories(),
                                   " trajectories, ", ds.height(), "x", ds.width(), "), test ",
                                   ts.source ? "file `" + ts.source->name() + "` (" : std::string("split ("),
                                   ts.windows.size(), " windows, separate from training and validation), ",
                                   num_threads(), " CPU threads. ", preset.value("about", std::string()));
  metrics["preset"] = preset;
  metrics["data"] = data.path;
  metrics["test_data"] = test_name;
  metrics["test_windows"] = ts.windows.size();
  metrics["threads"] = num_threads();
  write_text_atomic((fs::path(res.dir) / "metrics.json").string(), metrics.dump(2) + "\n");

  // The panels: the teachers, the student alone and SDKD's student (or the first other arm's
  // when SDKD was not run), each the first seed's.
  std::vector<PanelRun> shown;
  for (const auto& t : res.teachers) shown.push_back({"teacher " + t.model->config().name, "", t.model.get()});
  const uint64_t seed0 = uint64_t(preset.value("train", nlohmann::json::object()).value("seed", uint64_t(0)));
  auto seeded = [&](const models::Forecaster& m) { return str_cat(m.config().name, " seed ", seed0); };
  std::string kd_arm;
  for (const auto& a : res.arms)
    if (a != "none" && (kd_arm.empty() || a == "sdkd")) kd_arm = a;
  if (res.first_seed.count("none")) {
    models::Forecaster* m = res.first_seed.at("none").get();
    shown.push_back({"student alone", seeded(*m), m});
  }
  if (!kd_arm.empty()) {
    models::Forecaster* m = res.first_seed.at(kd_arm).get();
    shown.push_back({"student + " + kd_arm, seeded(*m), m});
  }
  if (!shown.empty()) write_panels(preset, ds, shown, res.dir);
  write_study_report(res.dir, metrics);
  std::printf("wrote %s/metrics.json, %s/report.md, panels.png, lead_time.svg, spectrum.svg, band_error.svg, training.svg\n",
              res.dir.c_str(), res.dir.c_str());
  return metrics;
}

}  // namespace sdkd::tools
