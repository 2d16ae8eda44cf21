// sdkd distill: train a student from frozen teacher checkpoints (docs/USAGE.md, "distill").
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/distillation.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "tools/pipeline/training.hpp"
#include "tools/pipeline/windows.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

int cmd_distill(int argc, char** argv) {
  cxxopts::Options opts("sdkd distill", "Train a student with knowledge distillation from frozen teacher checkpoints");
  opts.add_options()
    ("data", "data file: .npy, MAT (v5/v7.3) or HDF5; frames (N, T, C, H, W) by default, see --var, --layout", cxxopts::value<std::string>())
    ("teacher", "teacher checkpoint (repeat for several teachers)", cxxopts::value<std::vector<std::string>>())
    ("preset", "preset for the student, train and kd settings: smoke, demo, paper or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder", cxxopts::value<std::string>()->default_value("runs/distill"))
    ("resume", "continue from <out>/last.safetensors if present");
  add_data_options(opts);
  add_train_options(opts);
  add_kd_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd distill: --data FILE is required");
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_data_overrides(r, preset);
  apply_train_overrides(r, preset);
  apply_kd_overrides(r, preset);
  const auto method = distill::parse_kd_method(preset["kd"].value("method", std::string("none")));
  const auto teacher_paths = r.count("teacher") ? r["teacher"].as<std::vector<std::string>>() : std::vector<std::string>{};
  SDKD_CHECK(method == distill::KDMethod::none || !teacher_paths.empty(), "sdkd distill: --kd ",
             distill::kd_method_name(method), " needs at least one --teacher CHECKPOINT");
  const std::string out = r["out"].as<std::string>();
  check_run_folder_of(out, r.count("resume") > 0);
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  std::vector<distill::TeacherModel> teachers;
  for (const auto& path : teacher_paths)
    teachers.push_back({fs::path(path).parent_path().filename().string() + "_" + std::to_string(teachers.size()),
                        load_model(path)});
  const data::SequenceDataset ds(data_path, window_from(preset), dataset_options(preset));
  report_run(distill_from_preset(preset, ds, teachers, out, r.count("resume") > 0), preset, out);
  return 0;
}

}  // namespace sdkd::tools
