// sdkd report: report.md and plots of a run folder, from its metrics.json.
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/study_report.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_report(int argc, char** argv) {
  cxxopts::Options opts("sdkd report",
                        "Rewrite report.md, lead_time.svg, spectrum.svg and training.svg of RUN_FOLDER, the folder of a "
                        "finished `sdkd demo` run (e.g. runs/demo), from its metrics.json and the runs' history.json");
  opts.add_options()("run", "run folder holding metrics.json (e.g. runs/demo)", cxxopts::value<std::string>());
  opts.parse_positional({"run"});
  opts.positional_help("RUN_FOLDER");  // the folder is positional: --help lists no option for it
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("run"), "sdkd report: a run folder is required (e.g. sdkd report runs/demo)");
  const std::string dir = r["run"].as<std::string>();
  const std::string path = (fs::path(dir) / "metrics.json").string();
  SDKD_CHECK(fs::exists(path), path, ": not found (run `sdkd demo` first)");
  nlohmann::json metrics;
  try {
    metrics = models::read_json_file(path);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, ": not valid JSON: ", e.what()));
  }
  write_study_report(dir, metrics);
  std::printf("wrote %s/report.md and its figures (lead_time.svg, spectrum.svg, band_error.svg when the rows hold error spectra, training.svg when histories exist)\n", dir.c_str());
  return 0;
}

}  // namespace sdkd::tools
