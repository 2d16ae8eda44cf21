// sdkd demo: the whole pipeline on a preset: generate (cached) -> train -> evaluate -> report.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_demo(int argc, char** argv) {
  cxxopts::Options opts("sdkd demo", "Generate data, train the U-Net, evaluate it against persistence, write a report");
  opts.add_options()
    ("preset", "smoke (seconds), demo (minutes) or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder (default runs/<preset>)", cxxopts::value<std::string>())
    ("data", "dataset path (default: the preset's, generated if missing)", cxxopts::value<std::string>())
    ("resume", "continue an interrupted training in the run folder");
  add_train_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  apply_threads(r);
  const std::string preset_name = r["preset"].as<std::string>();
  nlohmann::json preset = load_preset(preset_name);
  apply_train_overrides(r, preset);
  const std::string name = preset.value("name", std::string("custom"));
  const std::string out = r.count("out") ? r["out"].as<std::string>() : "runs/" + name;
  fs::create_directories(out);

  std::string data_path = r.count("data") ? r["data"].as<std::string>() : preset.at("data").at("file").get<std::string>();
  if (!r.count("data")) ensure_ns_data(data::ns_preset(preset.at("data").at("preset").get<std::string>()), data_path, false);
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  const data::SequenceDataset ds(data_path, window_from(preset));

  const auto tm = train_from_preset(preset, ds, out, r.count("resume") > 0);
  auto best = load_model((fs::path(out) / "best.safetensors").string());
  const auto rows = evaluate_on_test(preset, ds, *best, best->config().name, tm.result.train_seconds);
  write_figures(preset, ds, *best, rows, out);

  std::ostringstream table;
  print_table(rows, table);
  const double gain = 1.0 - rows[0].metrics.rel_l2 / rows[1].metrics.rel_l2;
  std::printf("\nsdkd demo (%s preset, %d threads), test split of %s:\n\n%s\n", name.c_str(), num_threads(),
              data_path.c_str(), table.str().c_str());
  std::printf("%s relative L2 is %.1f%% %s than persistence's.\n", rows[0].model.c_str(), 100 * std::fabs(gain),
              gain >= 0 ? "lower" : "HIGHER");
  nlohmann::json metrics = rows_json(rows);
  metrics["preset"] = preset;
  metrics["data"] = data_path;
  metrics["threads"] = num_threads();
  write_text_atomic((fs::path(out) / "metrics.json").string(), metrics.dump(2) + "\n");
  std::printf("wrote %s/metrics.json, %s/panels.png, %s/lead_time.svg\n", out.c_str(), out.c_str(), out.c_str());
  return 0;
}

}  // namespace sdkd::tools
