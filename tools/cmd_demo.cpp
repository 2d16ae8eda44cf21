// sdkd demo: the whole SDKD study on a preset, teachers -> student alone -> student + KD
// methods over several seeds, evaluated side by side with the persistence baseline.
//   data      generated once and cached (data/<file>)
//   teachers  trained once into <out>/teacher_<name>/ and reused while their settings match
//   students  <out>/student_<method>_s<seed>/, trained once and reused while their settings
//             match (tools/pipeline/students.hpp), continued where a killed study stopped
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/navier_stokes.hpp"
#include "datasets/sequence_dataset.hpp"
#include "distill/distiller.hpp"
#include "models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/commands.hpp"
#include "train/progress.hpp"
#include "train/study_progress.hpp"
#include "train/trainer.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/eval_row.hpp"
#include "tools/pipeline/evaluate.hpp"
#include "tools/pipeline/ns_data.hpp"
#include "tools/pipeline/panels.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/study_report.hpp"
#include "tools/pipeline/students.hpp"
#include "tools/pipeline/study_summary.hpp"
#include "tools/pipeline/teachers.hpp"
#include "tools/pipeline/windows.hpp"
#include "tools/provenance.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_demo(int argc, char** argv) {
  cxxopts::Options opts("sdkd demo",
                        "The SDKD study: teachers, the student alone and with each KD method over seeds, report");
  opts.add_options()
    ("preset", "smoke (seconds), demo (minutes) or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder (default runs/<preset>)", cxxopts::value<std::string>())
    ("data", "dataset path (default: the preset's, generated if missing)", cxxopts::value<std::string>())
    ("seeds", "number of student seeds (default: the preset's)", number_value<int>())
    ("methods", "KD methods to run, e.g. none,sdkd (default: the preset's)", cxxopts::value<std::string>());
  add_data_options(opts);
  add_train_options(opts);
  add_kd_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_data_overrides(r, preset);
  apply_train_overrides(r, preset);
  apply_kd_overrides(r, preset);
  const std::string name = preset.value("name", std::string("custom"));
  const std::string out = r.count("out") ? r["out"].as<std::string>() : "runs/" + name;

  // ---- every setting checked before data is generated or a teacher trains ----
  const train::TrainConfig train_cfg =
      train::TrainConfig::from_json(models::json_section(preset, "preset:", "train"), "preset: train");
  const int64_t batch = train_cfg.batch_size;
  const nlohmann::json study = preset.value("study", nlohmann::json::object());
  std::vector<std::string> method_names = study.value("methods", std::vector<std::string>{"none"});
  if (r.count("methods")) {
    method_names.clear();
    std::stringstream ss(r["methods"].as<std::string>());
    for (std::string m; std::getline(ss, m, ',');) method_names.push_back(m);
  }
  std::vector<distill::KDMethod> methods;
  for (const auto& m : method_names) try {
      methods.push_back(distill::parse_kd_method(m));
      nlohmann::json kd = models::json_section(preset, "preset:", "kd");
      kd["method"] = m;  // each method with the preset's kd settings, as its students will run
      (void)distill::KDConfig::from_json(kd, "preset: kd");
    } catch (const Error& e) {
      throw Error(str_cat(r.count("methods") ? "--methods: " : "preset: study.methods: ", e.what()));
    }
  int seeds = study.value("seeds", 1);
  if (r.count("seeds")) seeds = r["seeds"].as<int>();
  SDKD_CHECK(seeds >= 1 && seeds <= 1000, "--seeds must be an integer in [1, 1000], got ", seeds);
  const auto& teacher_list = preset.value("teachers", nlohmann::json::array());
  std::vector<train::TrainConfig> teacher_cfgs;  // each teacher's own train section
  for (const auto& t : teacher_list) teacher_cfgs.push_back(train::TrainConfig::from_json(t.at("train")));
  // A preset's cuda_graph on the CPU (the option itself is refused where it is read).
  SDKD_CHECK(!train_cfg.cuda_graph || compute_device().is_cuda(), "preset: train.cuda_graph needs --device cuda");
  for (const auto& c : teacher_cfgs)
    SDKD_CHECK(!c.cuda_graph || compute_device().is_cuda(), "preset: teachers: train.cuda_graph needs --device cuda");
  check_output_dir(out);

  // The study's data: --data, or the preset's generated file (made here when missing).
  const nlohmann::json& data_section = models::json_section(preset, "preset:", "data");
  auto data_field = [&](const char* key) {
    return models::json_string(models::json_required(data_section, "preset: data", key), "preset: data", key);
  };
  std::string data_path = r.count("data") ? r["data"].as<std::string>() : data_field("file");
  if (!r.count("data")) ensure_ns_data(data::ns_preset(data_field("preset")), data_path, run_log().quiet);
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  const data::SequenceDataset ds(data_path, window_from(preset), dataset_options(preset));
  // The test set: the split's test trajectories, or the preset's extra test file (generated
  // like the data from another seed) when the study runs on the preset's own generated data.
  TestSet ts = test_set(preset, ds);
  if (preset.contains("test") && !r.count("data")) {
    const auto& t = preset["test"];
    data::NSConfig cfg = data::ns_preset(data_field("preset"));
    cfg.trajectories = t.at("trajectories").get<int64_t>();
    cfg.seed = t.at("seed").get<uint64_t>();
    SDKD_CHECK(cfg.seed != data::ns_preset(data_field("preset")).seed, "preset: test.seed must differ from the data's (",
               cfg.seed, "): the same seed gives the same trajectories");
    const std::string test_path = t.at("file").get<std::string>();
    ensure_ns_data(cfg, test_path, run_log().quiet);
    ts = extra_test_set(preset, test_path);
    const auto& td = *ts.source;
    SDKD_CHECK(td.height() == ds.height() && td.width() == ds.width() && td.channels() == ds.channels(), test_path,
               ": the test frames are ", td.channels(), "x", td.height(), "x", td.width(), ", the data's ", ds.channels(),
               "x", ds.height(), "x", ds.width());
  } else if (preset.contains("test")) {
    note("--data given: the preset's extra test file is not used; the test set is the split's");
  }
  make_output_dir(out);

  // ---- the study's plan, for "run r/R" and the time left in every epoch line ----
  auto teacher_name = [](const nlohmann::json& t) {
    return t.value("name", t.at("model").value("name", std::string("teacher")));
  };
  auto student_dir = [](const std::string& method, int seed) { return str_cat("student_", method, "_s", seed); };
  train::StudyProgress progress;
  for (size_t i = 0; i < teacher_list.size(); ++i)
    progress.add_run("teacher_" + teacher_name(teacher_list[i]), "teacher_" + teacher_name(teacher_list[i]),
                     teacher_cfgs[i].epochs);
  for (int s = 0; s < seeds; ++s)
    for (const auto method : methods)
      progress.add_run(student_dir(distill::kd_method_name(method), s),
                       str_cat("student_", distill::kd_method_name(method)), train_cfg.epochs);
  run_log().study = &progress;
  const auto study_start = std::chrono::steady_clock::now();

  std::vector<EvalRow> rows;
  std::vector<std::string> run_dirs;  // per row, its folder under <out> (metrics.json "run_dir": training curves)
  // ---- teachers ----
  std::vector<distill::TeacherModel> teachers;
  nlohmann::json teacher_records = nlohmann::json::array();  // their done.json: part of each KD student's record
  for (size_t i = 0; i < teacher_list.size(); ++i) {
    const auto& t = teacher_list[i];
    const std::string tname = teacher_name(t);
    double secs = 0;
    auto model = ensure_teacher(preset, t, ds, (fs::path(out) / ("teacher_" + tname)).string(), secs);
    EvalRow row = evaluate_model(*model, ds, ts, batch);
    row.role = "teacher";
    row.kd = "-";
    row.seed = int64_t(teacher_cfgs[i].seed);  // its own, not the students'
    row.train_seconds = secs;
    rows.push_back(row);
    run_dirs.push_back("teacher_" + tname);
    teachers.push_back({tname, model});
    teacher_records.push_back(models::read_json_file((fs::path(out) / ("teacher_" + tname) / "done.json").string()));
  }
  // ---- students ----
  const uint64_t base_seed = train_cfg.seed;
  std::shared_ptr<models::Forecaster> shown_none, shown_kd;
  std::string shown_kd_name;
  for (int s = 0; s < seeds; ++s) {
    for (const auto method : methods) {
      const std::string mname = distill::kd_method_name(method);
      nlohmann::json p = preset;
      p["train"]["seed"] = base_seed + uint64_t(s);
      p["kd"]["method"] = mname;
      const std::string dir = (fs::path(out) / student_dir(mname, s)).string();
      // Trained once; reused while its settings match, continued after a kill.
      const StudentRun run = ensure_student(p, ds, teachers, teacher_records, dir);
      const auto& best = run.best;
      EvalRow row = evaluate_model(*best, ds, ts, batch);
      row.kd = mname;
      row.seed = int64_t(base_seed) + s;
      row.train_seconds = run.train_seconds;
      rows.push_back(row);
      run_dirs.push_back(fs::path(dir).filename().string());
      if (s == 0 && method == distill::KDMethod::none) shown_none = best;
      // The panels show SDKD's student, or the first other KD method's when SDKD was not run.
      if (s == 0 && method != distill::KDMethod::none && (!shown_kd || method == distill::KDMethod::sdkd))
        shown_kd = best, shown_kd_name = mname;
    }
  }
  run_log().study = nullptr;
  note(str_cat("study trained ", progress.run_count(), " runs in ",
               train::format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - study_start).count())));
  rows.push_back(evaluate_persistence(ds, ts));
  run_dirs.push_back("");

  // ---- summary: means over seeds, paired differences against the student alone ----
  std::vector<std::string> run_names;
  for (const auto method : methods) run_names.push_back(distill::kd_method_name(method));
  const StudySummary summary = summarize_study(rows, run_names);

  // ---- outputs ----
  std::ostringstream table;
  print_table(rows, table);
  const std::string test_name = ts.source ? ts.source->name() : data_path;
  std::printf("\nsdkd demo (%s preset, %d threads), test %s of %s (%zu windows):\n\n%s\n", name.c_str(),
              num_threads(), ts.source ? "file" : "split", test_name.c_str(), ts.windows.size(), table.str().c_str());
  for (const auto& l : summary.lines) std::printf("%s\n", l.c_str());
  nlohmann::json metrics = rows_json(rows);
  for (size_t i = 0; i < rows.size(); ++i)
    if (!run_dirs[i].empty()) metrics["rows"][i]["run_dir"] = run_dirs[i];
  metrics["provenance"] = provenance();
  metrics["summary"] = summary.json;
  metrics["summary_lines"] = summary.lines;
  metrics["description"] = str_cat("Preset `", name, "`, data `", data_path, "` (", ds.trajectories(),
                                   " trajectories, ", ds.height(), "x", ds.width(), "), test ",
                                   ts.source ? "file `" + ts.source->name() + "` (" : std::string("split ("),
                                   ts.windows.size(), " windows, separate from training and validation), ",
                                   num_threads(), " CPU threads. ",
                                   preset.value("about", std::string()));
  metrics["preset"] = preset;
  metrics["data"] = data_path;
  metrics["test_data"] = ts.source ? ts.source->name() : data_path;
  metrics["test_windows"] = ts.windows.size();
  metrics["threads"] = num_threads();
  write_text_atomic((fs::path(out) / "metrics.json").string(), metrics.dump(2) + "\n");
  std::vector<PanelRun> shown;
  for (const auto& t : teachers) shown.push_back({"teacher " + t.model->config().name, "", t.model.get()});
  auto seeded = [&](const models::Forecaster& m) { return str_cat(m.config().name, " seed ", base_seed); };
  if (shown_none) shown.push_back({"student alone", seeded(*shown_none), shown_none.get()});
  if (shown_kd) shown.push_back({"student + " + shown_kd_name, seeded(*shown_kd), shown_kd.get()});
  if (!shown.empty()) write_panels(preset, ds, shown, out);
  write_study_report(out, metrics);
  std::printf("wrote %s/metrics.json, %s/report.md, panels.png, lead_time.svg, spectrum.svg, training.svg\n",
              out.c_str(), out.c_str());
  return 0;
}

}  // namespace sdkd::tools
