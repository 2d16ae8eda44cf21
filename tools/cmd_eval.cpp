// sdkd eval: score a checkpoint against the persistence baseline on the test split.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/eval_row.hpp"
#include "tools/pipeline/evaluate.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/windows.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_eval(int argc, char** argv) {
  cxxopts::Options opts("sdkd eval", "Score a checkpoint and the persistence baseline on the test split");
  opts.add_options()
    ("data", "data file: .npy, MAT (v5/v7.3) or HDF5; frames (N, T, C, H, W) by default, see --var, --layout", cxxopts::value<std::string>())
    ("checkpoint", "model checkpoint (best.safetensors of a run)", cxxopts::value<std::string>())
    ("preset", "preset for the window and split: smoke, demo, paper or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("test-file", "score every window of this file (test trajectories only, e.g. a study's extra test file) instead of --data's test split", cxxopts::value<std::string>())
    ("json", "write the metrics to this JSON file", cxxopts::value<std::string>())
    ("threads", "CPU threads (default: all cores)", number_value<int>());
  add_data_options(opts);
  add_device_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd eval: --data FILE is required");
  SDKD_CHECK(r.count("checkpoint"), "sdkd eval: --checkpoint FILE is required");
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_data_overrides(r, preset);
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  const data::SequenceDataset ds(data_path, window_from(preset), dataset_options(preset));
  auto model = load_model(r["checkpoint"].as<std::string>());
  if (model->normalization().zscore)  // from the checkpoint: the metrics below are in the data's units
    std::fprintf(stderr, "%s: inputs normalised with its training split's %s\n", r["checkpoint"].as<std::string>().c_str(),
                 model->normalization().describe().c_str());
  TestSet ts = test_set(preset, ds);
  if (r.count("test-file")) {
    const std::string f = r["test-file"].as<std::string>();
    SDKD_CHECK(fs::exists(f), "--test-file ", f, ": file not found");
    ts = extra_test_set(preset, f);
  }
  const int64_t train_batch = preset.contains("train") ? preset["train"].value("batch_size", int64_t(10)) : 10;
  EvalRow scored = evaluate_model(*model, ds, ts, train_batch);
  scored.role = "model";  // a lone checkpoint: neither teacher nor student of a study
  scored.kd = "-";
  const std::vector<EvalRow> rows = {scored, evaluate_persistence(ds, ts)};
  print_table(rows, std::cout, kLoneCheckpointColumns);  // no study: no KD method, seed or training time to show
  std::printf("\nrelative L2 per lead time:\n");
  for (const auto& row : rows) {
    std::printf("  %-12s", row.model.c_str());
    for (double v : row.metrics.rel_l2_per_lead) std::printf(" %.3f", v);
    std::printf("\n");
  }
  if (r.count("json")) write_text_atomic(r["json"].as<std::string>(), rows_json(rows).dump(2) + "\n");
  return 0;
}

}  // namespace sdkd::tools
