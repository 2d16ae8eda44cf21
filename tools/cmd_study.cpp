// sdkd study --config FILE: any grid of regimes x arms x hyperparameter candidates over paired
// seeds (tools/pipeline/study_plan.hpp), hyperparameters chosen on validation, the chosen
// candidates scored once on the test set; each regime's table, report and metrics.json in its
// folder and the overview in <out>/study_<name>.md and .json. Finished runs are reused and a
// killed study continues where it stopped (the folders of tools/pipeline/study_runner.hpp).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/study_data.hpp"
#include "tools/pipeline/study_output.hpp"
#include "tools/pipeline/study_overview.hpp"
#include "tools/pipeline/study_plan.hpp"
#include "tools/pipeline/study_runner.hpp"

namespace sdkd::tools {

namespace {

void print_plan(const StudyPlan& plan) {
  std::printf("study %s: %zu regime(s) x %zu arm(s), %d seeds, %zu training runs\n", plan.name.c_str(),
              plan.regimes.size(), plan.arms.size(), plan.seeds, plan.run_count());
  for (const auto& r : plan.regimes)
    if (!r.name.empty()) std::printf("  regime %-12s %s\n", r.name.c_str(), r.patch.dump().c_str());
  for (const auto& a : plan.arms) {
    std::printf("  arm %-15s %s\n", a.name.c_str(), a.patch.dump().c_str());
    if (a.candidates.size() > 1)
      for (size_t c = 0; c < a.candidates.size(); ++c) std::printf("    candidate c%zu %s\n", c, a.candidates[c].label.c_str());
  }
}

}  // namespace

int cmd_study(int argc, char** argv) {
  cxxopts::Options opts("sdkd study", "A study of regimes x KD arms x hyperparameters over paired seeds (--config FILE)");
  opts.add_options()
    ("config", "the study's JSON file (docs/USAGE.md, 'sdkd study')", cxxopts::value<std::string>())
    ("o,out", "run folder (default runs/<study name>)", cxxopts::value<std::string>())
    ("data", "dataset path (default: the preset's, generated if missing)", cxxopts::value<std::string>())
    ("plan", "print the regimes, arms and candidates and the number of runs, then stop")
    ("threads", "CPU threads (default: all cores)", number_value<int>())
    ("quiet", "print only errors and the results: no progress or information lines")
    ("log-json", "append one JSON object per epoch (run, epoch, losses, val mse, ETAs) to this file; - for stdout",
     cxxopts::value<std::string>());
  add_device_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("config"), "sdkd study: --config FILE is required (a study's JSON file; see docs/USAGE.md)");
  const StudyPlan plan = load_study_plan(r["config"].as<std::string>());
  if (r.count("plan")) {
    print_plan(plan);
    return 0;
  }
  apply_runtime(r);
  const std::string out = r.count("out") ? r["out"].as<std::string>() : "runs/" + plan.name;
  check_output_dir(out);
  const StudyData data = load_study_data(plan.base, r.count("data") ? r["data"].as<std::string>() : "");
  make_output_dir(out);
  print_plan(plan);

  const std::vector<RegimeResult> results = run_study(plan, data, out);
  std::vector<nlohmann::json> metrics;
  std::vector<std::string> dirs;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string title = str_cat("sdkd study ", plan.name, results[i].name.empty() ? "" : ", regime " + results[i].name,
                                      " (", num_threads(), " threads)");
    metrics.push_back(write_regime_outputs(results[i], plan.regime_preset(i), data, title));
    dirs.push_back(results[i].dir);
  }
  const nlohmann::json ov = write_study_overview(plan, metrics, dirs, out);
  std::printf("\n%s", study_overview_markdown(ov).c_str());
  std::printf("wrote %s/study_%s.md and .json\n", out.c_str(), plan.name.c_str());
  return 0;
}

}  // namespace sdkd::tools
