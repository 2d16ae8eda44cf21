// sdkd train: fit a forecaster to a .npy dataset with MSE and Adam.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

// Options shared by train and demo that override the preset's "train" section.
void add_train_options(cxxopts::Options& opts) {
  opts.add_options()
    ("model", "model name (unet)", cxxopts::value<std::string>())
    ("hidden", "model base width", cxxopts::value<int64_t>())
    ("epochs", "training epochs", cxxopts::value<int64_t>())
    ("batch", "batch size", cxxopts::value<int64_t>())
    ("lr", "learning rate", cxxopts::value<double>())
    ("weight-decay", "weight decay", cxxopts::value<double>())
    ("adamw", "decoupled weight decay (AdamW)")
    ("grad-clip", "clip the global gradient norm (0: off)", cxxopts::value<double>())
    ("schedule", "learning-rate schedule: constant, cosine or onecycle", cxxopts::value<std::string>())
    ("patience", "early stop after this many epochs without a better validation MSE (0: off)", cxxopts::value<int64_t>())
    ("seed", "seed for initialisation and shuffling", cxxopts::value<uint64_t>())
    ("threads", "CPU threads (default: all cores)", cxxopts::value<int>())
    ("cuda-graph", "CUDA: capture the training step (forward + backward) in a CUDA graph and replay it");
  add_device_options(opts);
}

void apply_train_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  auto& t = preset["train"];
  auto& m = preset["model"];
  if (r.count("model")) m["name"] = r["model"].as<std::string>();
  if (r.count("hidden")) m["hidden"] = r["hidden"].as<int64_t>();
  if (r.count("epochs")) t["epochs"] = r["epochs"].as<int64_t>();
  if (r.count("batch")) t["batch_size"] = r["batch"].as<int64_t>();
  if (r.count("lr")) t["lr"] = r["lr"].as<double>();
  if (r.count("weight-decay")) t["weight_decay"] = r["weight-decay"].as<double>();
  if (r.count("adamw")) t["adamw"] = true;
  if (r.count("grad-clip")) t["grad_clip"] = r["grad-clip"].as<double>();
  if (r.count("schedule")) t["schedule"] = r["schedule"].as<std::string>();
  if (r.count("patience")) t["patience"] = r["patience"].as<int64_t>();
  if (r.count("seed")) t["seed"] = r["seed"].as<uint64_t>();
  if (r.count("cuda-graph")) t["cuda_graph"] = true;
}

data::WindowSpec window_from(const nlohmann::json& preset) {
  data::WindowSpec w;
  if (preset.contains("window")) {
    const auto& j = preset["window"];
    w.input_frames = j.value("input_frames", 10);
    w.output_frames = j.value("output_frames", 10);
    w.stride = j.value("stride", 10);
  }
  return w;
}

TrainedModel train_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::string& out_dir,
                               bool resume) {
  const auto split = data::split_indices(ds.trajectories(), preset.value("split_seed", uint64_t(0)));
  auto tcfg = train::TrainConfig::from_json(preset.at("train"));
  tcfg.out_dir = out_dir;
  tcfg.resume = resume;
  const auto mcfg = model_config_for(preset.at("model"), ds);
  Generator g(tcfg.seed);
  TrainedModel tm;
  tm.model = models::make_model(mcfg, g);
  place(*tm.model);
  std::fprintf(stderr, "training %s (%lld parameters) on %s: %zu train / %zu val windows, %s\n", mcfg.name.c_str(),
               (long long)tm.model->num_parameters(), ds.name().c_str(), ds.windows(split.train).size(),
               ds.windows(split.val).size(), compute_device().str().c_str());
  tm.result = train::train_forecaster(*tm.model, ds, split, tcfg);
  return tm;
}

void report_run(const TrainedModel& tm, const nlohmann::json& preset, const std::string& out) {
  const nlohmann::json summary = {{"best_val_mse", tm.result.best_val_mse},
                                  {"best_epoch", tm.result.best_epoch},
                                  {"train_seconds", tm.result.train_seconds},
                                  {"params", tm.model->num_parameters()},
                                  {"preset", preset}};
  write_text_atomic((fs::path(out) / "train.json").string(), summary.dump(2) + "\n");
  std::printf("best validation MSE %.6g at epoch %lld; checkpoint %s/best.safetensors\n", tm.result.best_val_mse,
              (long long)tm.result.best_epoch + 1, out.c_str());
}

int cmd_train(int argc, char** argv) {
  cxxopts::Options opts("sdkd train", "Train a forecaster with MSE and Adam; keeps best.safetensors and last.safetensors");
  opts.add_options()
    ("data", "dataset .npy (N, T, C, H, W) float32", cxxopts::value<std::string>())
    ("preset", "preset for model/train settings: smoke, demo, paper or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder", cxxopts::value<std::string>()->default_value("runs/train"))
    ("resume", "continue from <out>/last.safetensors if present");
  add_train_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd train: --data FILE is required (a .npy of shape (N, T, C, H, W))");
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_train_overrides(r, preset);
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found (create one with `sdkd generate ns`)");
  const data::SequenceDataset ds(data_path, window_from(preset));
  const std::string out = r["out"].as<std::string>();
  report_run(train_from_preset(preset, ds, out, r.count("resume") > 0), preset, out);
  return 0;
}

}  // namespace sdkd::tools
