#include "tools/pipeline/training.hpp"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/split.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/error.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

models::ModelConfig model_config_for(const nlohmann::json& model_json, const data::SequenceDataset& data) {
  nlohmann::json j = models::json_object(model_json, "model");
  j["in_frames"] = data.spec().input_frames;
  j["out_frames"] = data.spec().output_frames;
  j["channels"] = data.channels();
  j["height"] = data.height();
  j["width"] = data.width();
  return models::ModelConfig::from_json(j);
}

std::string normalization_note(const models::Forecaster& model) {
  const auto& n = model.normalization();
  return n.zscore ? ", " + n.describe() : "";
}

models::DataNormalization fit_normalization(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                            const data::Split& split) {
  const nlohmann::json& d = models::json_section(preset, "preset:", "data");
  const std::string kind = d.contains("normalize") ? models::json_string(d["normalize"], "preset: data", "normalize")
                                                   : "none";
  const std::string problem = data_choice_problem("normalize", kind);  // the one list of names
  SDKD_CHECK(problem.empty(), "preset: data.normalize ", problem);
  if (kind == "none") return {};
  const auto [mean, std] = ds.moments(split.train);
  return models::DataNormalization::z_score(mean, std, ds.name() + " (training split)");
}

void check_run_folder_of(const std::string& out, bool resume) {
  train::check_run_folder(out, resume);
  if (resume && !fs::exists(fs::path(out) / "last.safetensors"))
    note(out + ": no last.safetensors to resume from, starting a fresh run");
}

void apply_run_log(train::TrainConfig& cfg) {
  cfg.quiet = run_log().quiet;
  cfg.log_json = run_log().json;
  cfg.study = run_log().study;
}

TrainedModel train_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::string& out_dir,
                               bool resume) {
  const auto split = data::split_indices(ds.trajectories(), split_seed(preset));
  // Sections are read again here, after the command-line options changed them.
  auto tcfg = train::TrainConfig::from_json(models::json_section(preset, "preset:", "train"));
  tcfg.out_dir = out_dir;
  tcfg.resume = resume;
  apply_run_log(tcfg);
  const auto mcfg = model_config_for(models::json_section(preset, "preset:", "model"), ds);
  Generator g(tcfg.seed);
  TrainedModel tm;
  tm.model = models::make_model(mcfg, g);
  tm.model->set_normalization(fit_normalization(preset, ds, split));
  place(*tm.model);
  note(str_cat("training ", mcfg.name, " (", tm.model->num_parameters(), " parameters) on ", ds.name(), ": ",
               ds.windows(split.train).size(), " train / ", ds.windows(split.val).size(), " val windows, ",
               compute_device().str(), normalization_note(*tm.model)));
  tm.result = train::train_forecaster(*tm.model, ds, split, tcfg);
  return tm;
}

void report_run(const TrainedModel& tm, const nlohmann::json& preset, const std::string& out) {
  if (!dist::world().is_main()) return;  // rank 0 writes and prints for the run
  const nlohmann::json summary = {{"best_val_mse", tm.result.best_val_mse},
                                  {"best_epoch", tm.result.best_epoch},
                                  {"train_seconds", tm.result.train_seconds},
                                  {"params", tm.model->num_parameters()},
                                  {"preset", preset}};
  write_text_atomic((fs::path(out) / "train.json").string(), summary.dump(2) + "\n");
  std::printf("best validation MSE %.6g at epoch %lld; checkpoint %s/best.safetensors\n", tm.result.best_val_mse,
              (long long)tm.result.best_epoch + 1, out.c_str());
}

}  // namespace sdkd::tools
