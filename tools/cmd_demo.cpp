// sdkd demo: the whole SDKD study on a preset, teachers -> student alone -> student + KD
// methods over several seeds, evaluated side by side with the persistence baseline.
//   data      generated once and cached (data/<file>)
//   teachers  trained once into <out>/teacher_<name>/ and reused while their settings match
//   students  <out>/student_<method>_s<seed>/, trained once and reused while their settings
//             match (tools/pipeline/students.hpp), continued where a killed study stopped
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/study_data.hpp"
#include "tools/pipeline/study_output.hpp"
#include "tools/pipeline/study_plan.hpp"
#include "tools/pipeline/study_runner.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::tools {

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
  const nlohmann::json study = preset.value("study", nlohmann::json::object());
  std::vector<std::string> method_names = study.value("methods", std::vector<std::string>{"none"});
  if (r.count("methods")) {
    method_names.clear();
    std::stringstream ss(r["methods"].as<std::string>());
    for (std::string m; std::getline(ss, m, ',');) method_names.push_back(m);
  }
  for (const auto& m : method_names) try {
      (void)distill::parse_kd_method(m);
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
  // A preset's cuda_graph on the CPU (the option itself is refused where it is read).
  SDKD_CHECK(!train_cfg.cuda_graph || compute_device().is_cuda(), "preset: train.cuda_graph needs --device cuda");
  for (const auto& t : teacher_list)
    SDKD_CHECK(!train::TrainConfig::from_json(t.at("train")).cuda_graph || compute_device().is_cuda(),
               "preset: teachers: train.cuda_graph needs --device cuda");
  check_output_dir(out);

  // The study's data: --data, or the preset's generated file (made here when missing), and
  // its test set (the preset's extra test file when it has one).
  const StudyData data = load_study_data(preset, r.count("data") ? r["data"].as<std::string>() : "");
  make_output_dir(out);

  const StudyPlan plan = plan_from_preset(preset, method_names, seeds);
  const std::vector<RegimeResult> results = run_study(plan, data, out);
  write_regime_outputs(results.front(), preset, data, str_cat("sdkd demo (", name, " preset, ", num_threads(), " threads)"));
  return 0;
}

}  // namespace sdkd::tools
