#include "tools/pipeline/teachers.hpp"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/study_progress.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/training.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

std::shared_ptr<models::Forecaster> ensure_teacher(const nlohmann::json& preset, const nlohmann::json& teacher,
                                                    const data::SequenceDataset& ds, const std::string& dir,
                                                    double& train_seconds) {
  const std::string at = "teacher " + dir;
  nlohmann::json settings = {{"model", models::json_required(teacher, at, "model")},
                             {"train", models::json_required(teacher, at, "train")},
                             {"data", ds.name()},
                             {"window", preset.value("window", nlohmann::json::object())},
                             {"split_seed", split_seed(preset)}};
  // Only when set, so the records of runs from before the option still match.
  const auto& data = models::json_section(preset, "preset:", "data");
  if (data.contains("normalize") && data["normalize"] != "none") settings["normalize"] = data["normalize"];
  const std::string done = (fs::path(dir) / "done.json").string();
  if (fs::exists(done)) {
    // done.json is a cache record: one that cannot be read (damaged or edited) means retraining.
    bool same = false;
    try {
      const auto j = models::read_json_file(done);
      same = models::json_required(j, done, "settings") == settings;
      train_seconds = models::json_number(models::json_required(j, done, "train_seconds"), done, "train_seconds");
    } catch (const Error& e) {
      note(str_cat("unreadable teacher record: ", e.what()));
    }
    if (same) {
      note(str_cat("reusing teacher ", dir, " (trained ", int64_t(train_seconds + 0.5), " s, settings unchanged)"));
      if (run_log().study) run_log().study->skip_run(dir);
      return load_model((fs::path(dir) / "best.safetensors").string());
    }
    note("teacher settings changed: retraining " + dir);
    fs::remove_all(dir);
  }
  nlohmann::json p = preset;
  p["model"] = teacher.at("model");
  p["train"] = teacher.at("train");
  const auto tm = train_from_preset(p, ds, dir, /*resume=*/true);  // a killed teacher run continues
  train_seconds = tm.result.train_seconds;
  write_text_atomic(done, nlohmann::json{{"settings", settings}, {"train_seconds", train_seconds}}.dump(2) + "\n");
  return load_model((fs::path(dir) / "best.safetensors").string());
}

}  // namespace sdkd::tools
