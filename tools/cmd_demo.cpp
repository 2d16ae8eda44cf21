// sdkd demo: the whole SDKD study on a preset, teachers -> student alone -> student + KD
// methods over several seeds, evaluated side by side with the persistence baseline.
//   data      generated once and cached (data/<file>)
//   teachers  trained once into <out>/teacher_<name>/ and reused while their settings match
//   students  <out>/student_<method>_s<seed>/, retrained on every run
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "distill/distiller.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

namespace {

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x / double(v.size());
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean) / double(v.size() - 1);
    s.sd = std::sqrt(s.sd);
  }
  return s;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.1f%%", 100 * v);
  return b;
}

// Trains a teacher unless a finished run with the same settings is in `dir`.
std::shared_ptr<models::Forecaster> ensure_teacher(const nlohmann::json& preset, const nlohmann::json& teacher,
                                                    const data::SequenceDataset& ds, const std::string& dir,
                                                    double& train_seconds) {
  const nlohmann::json settings = {{"model", teacher.at("model")},
                                   {"train", teacher.at("train")},
                                   {"data", ds.name()},
                                   {"window", preset.value("window", nlohmann::json::object())},
                                   {"split_seed", preset.value("split_seed", 0)}};
  const std::string done = (fs::path(dir) / "done.json").string();
  if (fs::exists(done)) {
    const auto j = nlohmann::json::parse(read_text_file(done));
    if (j.at("settings") == settings) {
      std::fprintf(stderr, "reusing teacher %s (trained %.0f s, settings unchanged)\n", dir.c_str(),
                   j.at("train_seconds").get<double>());
      train_seconds = j.at("train_seconds").get<double>();
      return load_model((fs::path(dir) / "best.safetensors").string());
    }
    std::fprintf(stderr, "teacher settings changed: retraining %s\n", dir.c_str());
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

}  // namespace

int cmd_demo(int argc, char** argv) {
  cxxopts::Options opts("sdkd demo",
                        "The SDKD study: teachers, the student alone and with each KD method over seeds, report");
  opts.add_options()
    ("preset", "smoke (seconds), demo (minutes) or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder (default runs/<preset>)", cxxopts::value<std::string>())
    ("data", "dataset path (default: the preset's, generated if missing)", cxxopts::value<std::string>())
    ("seeds", "number of student seeds (default: the preset's)", cxxopts::value<int>())
    ("methods", "KD methods to run, e.g. none,sdkd (default: the preset's)", cxxopts::value<std::string>());
  add_train_options(opts);
  add_kd_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_train_overrides(r, preset);
  apply_kd_overrides(r, preset);
  const std::string name = preset.value("name", std::string("custom"));
  const std::string out = r.count("out") ? r["out"].as<std::string>() : "runs/" + name;
  fs::create_directories(out);

  std::string data_path = r.count("data") ? r["data"].as<std::string>() : preset.at("data").at("file").get<std::string>();
  if (!r.count("data")) ensure_ns_data(data::ns_preset(preset.at("data").at("preset").get<std::string>()), data_path, false);
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  const data::SequenceDataset ds(data_path, window_from(preset));
  const TestSet ts = test_set(preset, ds);
  const int64_t batch = preset.at("train").value("batch_size", int64_t(10));

  const nlohmann::json study = preset.value("study", nlohmann::json::object());
  std::vector<std::string> method_names = study.value("methods", std::vector<std::string>{"none"});
  if (r.count("methods")) {
    method_names.clear();
    std::stringstream ss(r["methods"].as<std::string>());
    for (std::string m; std::getline(ss, m, ',');) method_names.push_back(m);
  }
  std::vector<distill::KDMethod> methods;
  for (const auto& m : method_names) methods.push_back(distill::parse_kd_method(m));
  const std::string none_name = distill::kd_method_name(distill::KDMethod::none);
  const std::string sdkd_name = distill::kd_method_name(distill::KDMethod::sdkd);
  int seeds = study.value("seeds", 1);
  if (r.count("seeds")) seeds = r["seeds"].as<int>();
  SDKD_CHECK(seeds >= 1, "--seeds must be >= 1, got ", seeds);

  std::vector<EvalRow> rows;
  // ---- teachers ----
  std::vector<distill::TeacherModel> teachers;
  for (const auto& t : preset.value("teachers", nlohmann::json::array())) {
    const std::string tname = t.value("name", t.at("model").value("name", std::string("teacher")));
    double secs = 0;
    auto model = ensure_teacher(preset, t, ds, (fs::path(out) / ("teacher_" + tname)).string(), secs);
    EvalRow row = evaluate_model(*model, ds, ts, batch);
    row.role = "teacher";
    row.kd = "-";
    row.train_seconds = secs;
    rows.push_back(row);
    teachers.push_back({tname, model});
  }
  // ---- students ----
  const uint64_t base_seed = preset.at("train").value("seed", uint64_t(0));
  std::shared_ptr<models::Forecaster> shown_none, shown_kd;
  for (int s = 0; s < seeds; ++s) {
    for (const auto method : methods) {
      const std::string mname = distill::kd_method_name(method);
      nlohmann::json p = preset;
      p["train"]["seed"] = base_seed + uint64_t(s);
      p["kd"]["method"] = mname;
      const std::string dir = (fs::path(out) / ("student_" + mname + "_s" + std::to_string(s))).string();
      fs::remove_all(dir);  // students are retrained on every run
      const auto tm = distill_from_preset(
          p, ds, method == distill::KDMethod::none ? std::vector<distill::TeacherModel>{} : teachers, dir, false);
      auto best = load_model((fs::path(dir) / "best.safetensors").string());
      EvalRow row = evaluate_model(*best, ds, ts, batch);
      row.kd = mname;
      row.seed = int64_t(base_seed) + s;
      row.train_seconds = tm.result.train_seconds;
      rows.push_back(row);
      if (s == 0 && method == distill::KDMethod::none) shown_none = best;
      if (s == 0 && method == distill::KDMethod::sdkd) shown_kd = best;
    }
  }
  rows.push_back(evaluate_persistence(ds, ts));

  // ---- summary: means over seeds, paired differences against the student alone ----
  std::vector<std::string> summary;
  std::map<std::string, std::vector<const EvalRow*>> by_method;
  for (const auto& row : rows)
    if (row.role == "student") by_method[row.kd].push_back(&row);
  const EvalRow* teacher = nullptr;
  for (const auto& row : rows)
    if (row.role == "teacher" && (!teacher || row.metrics.mse < teacher->metrics.mse)) teacher = &row;
  nlohmann::json summary_json = nlohmann::json::object();
  const auto& alone = by_method[none_name];
  for (const auto method : methods) {
    const std::string mname = distill::kd_method_name(method);
    const auto& rs = by_method[mname];
    std::vector<double> mse, mae, dmse, dmae;
    for (size_t i = 0; i < rs.size(); ++i) {
      mse.push_back(rs[i]->metrics.mse);
      mae.push_back(rs[i]->metrics.mae);
      if (i < alone.size() && method != distill::KDMethod::none) {  // same seed, same initialisation: a paired difference
        dmse.push_back(rs[i]->metrics.mse / alone[i]->metrics.mse - 1);
        dmae.push_back(rs[i]->metrics.mae / alone[i]->metrics.mae - 1);
      }
    }
    const Stat m = stat(mse), a = stat(mae), dm = stat(dmse), da = stat(dmae);
    char line[512];
    std::snprintf(line, sizeof line, "student %-8s MSE %.4f ± %.4f, MAE %.4f ± %.4f over %zu seeds", mname.c_str(),
                  m.mean, m.sd, a.mean, a.sd, rs.size());
    std::string text = line;
    if (!dmse.empty())
      text += ", vs alone: MSE " + pct(dm.mean) + " (sd " + pct(dm.sd).substr(1) + "), MAE " + pct(da.mean) + " (sd " +
              pct(da.sd).substr(1) + ")";
    summary.push_back(text);
    summary_json[mname] = {{"mse_mean", m.mean}, {"mse_sd", m.sd},       {"mae_mean", a.mean}, {"mae_sd", a.sd},
                            {"seeds", rs.size()}, {"mse_change_mean", dm.mean}, {"mse_change_sd", dm.sd},
                            {"mae_change_mean", da.mean}, {"mae_change_sd", da.sd}};
  }
  if (teacher && !alone.empty()) {
    const EvalRow& st = *alone.front();
    const double gap = 1 - teacher->metrics.mse / stat([&] {
                         std::vector<double> v;
                         for (auto* x : alone) v.push_back(x->metrics.mse);
                         return v;
                       }()).mean;
    char line[512];
    std::snprintf(line, sizeof line,
                  "teacher %s test MSE %.4f is %.1f%% below the student alone; student/teacher: params %.2f, "
                  "FLOPs %.2f, train time %.2f, step memory %.2f, latency %.2f",
                  teacher->model.c_str(), teacher->metrics.mse, 100 * gap, double(st.params) / double(teacher->params),
                  double(st.flops) / double(teacher->flops), st.train_seconds / std::max(teacher->train_seconds, 1e-9),
                  double(st.peak_mem_bytes) / double(teacher->peak_mem_bytes), st.infer_ms / teacher->infer_ms);
    summary.push_back(line);
    summary_json["teacher_gap"] = gap;
    if (by_method.count(sdkd_name) && !by_method[sdkd_name].empty()) {
      std::vector<double> v;
      for (auto* x : by_method[sdkd_name]) v.push_back(x->metrics.mse);
      const double keep = teacher->metrics.mse / stat(v).mean;
      summary.push_back("the SDKD student keeps " + std::to_string(int(std::round(100 * keep))) +
                        "% of the teacher's accuracy (teacher MSE / student MSE)");
      summary_json["sdkd_accuracy_ratio"] = keep;
    }
  }

  // ---- outputs ----
  std::ostringstream table;
  print_table(rows, table);
  std::printf("\nsdkd demo (%s preset, %d threads), test split of %s (%zu windows):\n\n%s\n", name.c_str(),
              num_threads(), data_path.c_str(), ts.windows.size(), table.str().c_str());
  for (const auto& l : summary) std::printf("%s\n", l.c_str());
  nlohmann::json metrics = rows_json(rows);
  metrics["summary"] = summary_json;
  metrics["summary_lines"] = summary;
  metrics["description"] = str_cat("Preset `", name, "`, data `", data_path, "` (", ds.trajectories(),
                                   " trajectories, ", ds.height(), "x", ds.width(), "), test split of ",
                                   ts.windows.size(), " windows, ", num_threads(), " CPU threads. ",
                                   preset.value("about", std::string()));
  metrics["preset"] = preset;
  metrics["data"] = data_path;
  metrics["threads"] = num_threads();
  write_text_atomic((fs::path(out) / "metrics.json").string(), metrics.dump(2) + "\n");
  if (shown_none) write_panels(preset, ds, shown_kd ? *shown_kd : *shown_none, out);
  write_study_report(out, metrics);
  std::printf("wrote %s/metrics.json, %s/report.md, panels.png, lead_time.svg, spectrum.svg\n", out.c_str(),
              out.c_str());
  return 0;
}

}  // namespace sdkd::tools
