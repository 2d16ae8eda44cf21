#include "tools/pipeline/students.hpp"

#include <filesystem>

#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/study_progress.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/distillation.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

nlohmann::json student_settings(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                const nlohmann::json& teacher_records) {
  nlohmann::json p = preset;
  for (const char* key : {"study", "eval", "name", "about"}) p.erase(key);
  nlohmann::json s = {{"preset", p}, {"data", ds.name()}};
  if (p.contains("kd") && p["kd"].value("method", std::string("none")) != "none") s["teachers"] = teacher_records;
  return s;
}

namespace {

// The "settings" of a record file, or null when it is missing or cannot be read (a damaged
// or edited record means training again, never an error).
nlohmann::json recorded_settings(const std::string& file) {
  if (!fs::exists(file)) return nullptr;
  try {
    const auto j = models::read_json_file(file);
    return models::json_required(j, file, "settings");
  } catch (const Error& e) {
    note(str_cat("unreadable student record: ", e.what()));
    return nullptr;
  }
}

}  // namespace

StudentRun ensure_student(const nlohmann::json& preset, const data::SequenceDataset& ds,
                          const std::vector<distill::TeacherModel>& teachers, const nlohmann::json& teacher_records,
                          const std::string& dir) {
  const nlohmann::json settings = student_settings(preset, ds, teacher_records);
  const std::string done = (fs::path(dir) / "done.json").string();
  const std::string started = (fs::path(dir) / "settings.json").string();
  const std::string best = (fs::path(dir) / "best.safetensors").string();
  StudentRun run;
  if (recorded_settings(done) == settings && fs::exists(best)) {
    const auto j = models::read_json_file(done);
    run.train_seconds = models::json_number(models::json_required(j, done, "train_seconds"), done, "train_seconds");
    run.best = load_model(best);
    run.reused = true;
    note(str_cat("reusing student ", dir, " (settings unchanged)"));
    if (run_log().study) run_log().study->skip_run(dir);
    return run;
  }
  const bool resume = !fs::exists(done) && recorded_settings(started) == settings;
  if (resume) {
    note(str_cat("continuing student ", dir, " from its last checkpoint"));
  } else {
    fs::remove_all(dir);
    make_output_dir(dir);
    write_text_atomic(started, nlohmann::json{{"settings", settings}}.dump(2) + "\n");
  }
  const auto kd = preset.at("kd").value("method", std::string("none"));
  const auto tm = distill_from_preset(preset, ds, kd == "none" ? std::vector<distill::TeacherModel>{} : teachers, dir,
                                      resume);
  run.train_seconds = tm.result.train_seconds;
  write_text_atomic(done, nlohmann::json{{"settings", settings}, {"train_seconds", run.train_seconds}}.dump(2) + "\n");
  run.best = load_model(best);
  return run;
}

}  // namespace sdkd::tools
