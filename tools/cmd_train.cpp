// sdkd train: fit a forecaster to a data file (.npy, .mat, .h5) with MSE and Adam.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/training.hpp"
#include "tools/pipeline/windows.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_train(int argc, char** argv) {
  cxxopts::Options opts("sdkd train", "Train a forecaster with MSE and Adam; keeps best.safetensors and last.safetensors");
  opts.add_options()
    ("data", "data file: .npy, MAT (v5/v7.3) or HDF5; frames (N, T, C, H, W) by default, see --var, --layout", cxxopts::value<std::string>())
    ("preset", "preset for model/train settings: smoke, demo, paper or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder", cxxopts::value<std::string>()->default_value("runs/train"))
    ("resume", "continue from <out>/last.safetensors if present");
  add_data_options(opts);
  add_train_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd train: --data FILE is required (.npy, .mat or .h5; see --var, --layout)");
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_data_overrides(r, preset);
  apply_train_overrides(r, preset);
  const std::string out = r["out"].as<std::string>();
  check_run_folder_of(out, r.count("resume") > 0);  // before the data is opened and scanned
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found (create one with `sdkd generate ns`)");
  const data::SequenceDataset ds(data_path, window_from(preset), dataset_options(preset));
  report_run(train_from_preset(preset, ds, out, r.count("resume") > 0), preset, out);
  return 0;
}

}  // namespace sdkd::tools
