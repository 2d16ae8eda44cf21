#include "tools/pipeline/study_runner.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/progress.hpp"
#include "sdkd/train/study_progress.hpp"
#include "sdkd/train/trainer.hpp"
#include "tools/pipeline/evaluate.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/students.hpp"
#include "tools/pipeline/teachers.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

size_t choose_candidate(const std::vector<std::vector<double>>& val_mse) {
  SDKD_CHECK(!val_mse.empty(), "choose_candidate: no candidates");
  size_t best = 0;
  double best_mean = 0;
  for (size_t c = 0; c < val_mse.size(); ++c) {
    SDKD_CHECK(!val_mse[c].empty(), "choose_candidate: candidate ", c, " has no run");
    double mean = 0;
    for (double v : val_mse[c]) mean += v / double(val_mse[c].size());
    if (c == 0 || mean < best_mean) best = c, best_mean = mean;
  }
  return best;
}

namespace {

std::string teacher_name(const nlohmann::json& t) {
  return t.value("name", t.at("model").value("name", std::string("teacher")));
}

uint64_t train_seed(const nlohmann::json& preset) {
  const auto& t = models::json_section(preset, "preset:", "train");
  return t.contains("seed") ? models::json_uint(t["seed"], "preset: train", "seed") : 0;
}

int64_t train_epochs(const nlohmann::json& preset) {
  return train::TrainConfig::from_json(models::json_section(preset, "preset:", "train"), "preset: train").epochs;
}

struct Layout {
  const StudyPlan& plan;
  std::string out;
  std::string regime_dir(size_t r) const {
    return plan.regimes[r].name.empty() ? out : (fs::path(out) / plan.regimes[r].name).string();
  }
  std::string student_name(size_t a, size_t c, int s) const {
    const auto& arm = plan.arms[a];
    return str_cat("student_", arm.name, arm.candidates.size() > 1 ? str_cat("_c", c) : std::string(), "_s", s);
  }
  std::string student_dir(size_t r, size_t a, size_t c, int s) const {
    return (fs::path(regime_dir(r)) / student_name(a, c, s)).string();
  }
  std::string label(size_t r, size_t a, size_t c, int s) const {
    return plan.regimes[r].name.empty() ? student_name(a, c, s) : plan.regimes[r].name + "/" + student_name(a, c, s);
  }
  std::string teacher_dir(const std::string& name) const { return (fs::path(out) / ("teacher_" + name)).string(); }
};

// The teachers of every regime by name: one name is one model, so regimes that change a
// teacher must rename it (its folder would otherwise be retrained back and forth).
std::map<std::string, nlohmann::json> teachers_by_name(const StudyPlan& plan) {
  std::map<std::string, nlohmann::json> all;
  std::map<std::string, std::string> first_regime;
  for (size_t r = 0; r < plan.regimes.size(); ++r) {
    const nlohmann::json p = plan.regime_preset(r);
    for (const auto& t : p.value("teachers", nlohmann::json::array())) {
      const std::string name = teacher_name(t);
      const auto [it, added] = all.emplace(name, t);
      if (added) first_regime[name] = plan.regimes[r].name;
      SDKD_CHECK(added || it->second == t, "study ", plan.name, ": regime '", plan.regimes[r].name, "' changes teacher '",
                 name, "' of regime '", first_regime[name], "': give the changed teacher its own name");
    }
  }
  return all;
}

}  // namespace

std::vector<RegimeResult> run_study(const StudyPlan& plan, const StudyData& data, const std::string& out) {
  const data::SequenceDataset& ds = *data.ds;
  const Layout layout{plan, out};
  const auto teacher_json = teachers_by_name(plan);

  // ---- the plan, for "run r/R" and the time left in every epoch line ----
  train::StudyProgress progress;
  // Teachers in the order they train: the first regime that names each.
  std::set<std::string> planned;
  for (size_t r = 0; r < plan.regimes.size(); ++r)
    for (const auto& t : plan.regime_preset(r).value("teachers", nlohmann::json::array()))
      if (const std::string name = teacher_name(t); planned.insert(name).second)
        progress.add_run(layout.teacher_dir(name), "teacher_" + name,
                         train::TrainConfig::from_json(teacher_json.at(name).at("train")).epochs, "teacher_" + name);
  for (size_t r = 0; r < plan.regimes.size(); ++r)
    for (int s = 0; s < plan.seeds; ++s)
      for (size_t a = 0; a < plan.arms.size(); ++a)
        for (size_t c = 0; c < plan.arms[a].candidates.size(); ++c)
          progress.add_run(layout.student_dir(r, a, c, s), str_cat(plan.regimes[r].name, "/student_", plan.arms[a].name),
                           train_epochs(plan.run_preset(r, a, c, s)), layout.label(r, a, c, s));
  run_log().study = &progress;
  struct ClearStudy {
    ~ClearStudy() { run_log().study = nullptr; }
  } clear_study;
  const auto study_start = std::chrono::steady_clock::now();

  // ---- teachers, trained once and scored once ----
  struct Teacher {
    distill::TeacherModel model;
    EvalRow row;
    nlohmann::json record;  // its done.json: part of each KD student's settings
  };
  std::map<std::string, Teacher> teachers;
  // Scored with the cost of one training step at the students' batch (the first regime's), so
  // the memory ratio compares like with like.
  auto teacher = [&](const nlohmann::json& regime_preset, const nlohmann::json& t, int64_t batch) -> const Teacher& {
    const std::string name = teacher_name(t);
    if (auto it = teachers.find(name); it != teachers.end()) return it->second;
    double secs = 0;
    const std::string dir = layout.teacher_dir(name);
    auto model = ensure_teacher(regime_preset, t, ds, dir, secs);
    Teacher tc{{name, model}, evaluate_model(*model, ds, data.ts, batch),
               models::read_json_file((fs::path(dir) / "done.json").string())};
    tc.row.role = "teacher";
    tc.row.kd = "-";
    tc.row.seed = int64_t(train::TrainConfig::from_json(t.at("train")).seed);  // its own, not the students'
    tc.row.train_seconds = secs;
    return teachers.emplace(name, std::move(tc)).first->second;
  };

  std::vector<RegimeResult> results;
  for (size_t r = 0; r < plan.regimes.size(); ++r) {
    RegimeResult res;
    res.name = plan.regimes[r].name;
    res.dir = layout.regime_dir(r);
    make_output_dir(res.dir);
    const nlohmann::json rp = plan.regime_preset(r);
    const int64_t student_batch = train::TrainConfig::from_json(models::json_section(rp, "preset:", "train")).batch_size;
    nlohmann::json records = nlohmann::json::array();
    for (const auto& t : rp.value("teachers", nlohmann::json::array())) {
      const Teacher& tc = teacher(rp, t, student_batch);
      res.rows.push_back(tc.row);
      res.run_dirs.push_back(fs::relative(layout.teacher_dir(tc.model.name), res.dir).generic_string());
      res.teachers.push_back(tc.model);
      records.push_back(tc.record);
    }
    for (const auto& a : plan.arms) res.arms.push_back(a.name);

    // ---- every candidate of every arm on every seed ----
    // runs[a][c][s]
    std::vector<std::vector<std::vector<StudentRun>>> runs(plan.arms.size());
    for (size_t a = 0; a < plan.arms.size(); ++a)
      runs[a].assign(plan.arms[a].candidates.size(), std::vector<StudentRun>(size_t(plan.seeds)));
    for (int s = 0; s < plan.seeds; ++s)
      for (size_t a = 0; a < plan.arms.size(); ++a)
        for (size_t c = 0; c < plan.arms[a].candidates.size(); ++c)
          runs[a][c][size_t(s)] =
              ensure_student(plan.run_preset(r, a, c, s), ds, res.teachers, records, layout.student_dir(r, a, c, s));

    // ---- the choice on validation: the test set is not looked at ----
    std::vector<size_t> chosen(plan.arms.size(), 0);
    for (size_t a = 0; a < plan.arms.size(); ++a) {
      const auto& arm = plan.arms[a];
      if (arm.candidates.size() < 2) continue;
      std::vector<std::vector<double>> val(arm.candidates.size());
      nlohmann::json cands = nlohmann::json::array();
      for (size_t c = 0; c < arm.candidates.size(); ++c) {
        for (int s = 0; s < plan.seeds; ++s)
          val[c].push_back(validation_mse(*runs[a][c][size_t(s)].best, ds, rp, data.ts.batch));
        double mean = 0;
        for (double v : val[c]) mean += v / double(val[c].size());
        cands.push_back({{"label", arm.candidates[c].label},
                         {"patch", arm.candidates[c].patch},
                         {"val_mse", val[c]},
                         {"val_mse_mean", mean},
                         {"run_dirs", [&] {
                            std::vector<std::string> d;
                            for (int s = 0; s < plan.seeds; ++s) d.push_back(layout.student_name(a, c, s));
                            return d;
                          }()}});
      }
      chosen[a] = choose_candidate(val);
      res.selection[arm.name] = {{"candidates", cands},
                                 {"chosen", chosen[a]},
                                 {"chosen_label", arm.candidates[chosen[a]].label},
                                 {"rule", str_cat("lowest mean validation MSE over ", plan.seeds, " seeds")}};
      note(str_cat(res.name.empty() ? "" : res.name + ": ", "arm ", arm.name, ": ", arm.candidates[chosen[a]].label,
                   " chosen on validation"));
    }

    // ---- the test set, once per chosen run ----
    const uint64_t seed0 = train_seed(rp);
    for (int s = 0; s < plan.seeds; ++s)
      for (size_t a = 0; a < plan.arms.size(); ++a) {
        const StudentRun& run = runs[a][chosen[a]][size_t(s)];
        EvalRow row = evaluate_model(*run.best, ds, data.ts, student_batch);
        row.kd = plan.arms[a].name;
        row.seed = int64_t(seed0) + s;
        row.train_seconds = run.train_seconds;
        res.rows.push_back(row);
        res.run_dirs.push_back(layout.student_name(a, chosen[a], s));
        if (s == 0) res.first_seed[plan.arms[a].name] = run.best;
      }
    res.rows.push_back(evaluate_persistence(ds, data.ts));
    res.run_dirs.push_back("");
    results.push_back(std::move(res));
  }
  note(str_cat("study trained ", progress.run_count(), " runs in ",
               train::format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - study_start).count())));
  return results;
}

}  // namespace sdkd::tools
