#pragma once
// Training a model from a preset's "model" and "train" sections, and the record of a run.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::tools {

struct TrainedModel {
  std::shared_ptr<models::Forecaster> model;
  train::TrainResult result;
};

// The preset's model settings completed with the dataset's frames, channels and grid.
models::ModelConfig model_config_for(const nlohmann::json& model_json, const data::SequenceDataset& data);

// The normalisation the preset's "data.normalize" asks for ("none", the default, or "zscore":
// mean and std of every value of the training split's trajectories), for the model to carry.
models::DataNormalization fit_normalization(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                            const data::Split& split);
// ", z-score (mean ..., std ...)" for a normalised model's log line, "" otherwise.
std::string normalization_note(const models::Forecaster& model);

// train::check_run_folder for a command's --out and --resume, saying when --resume finds
// nothing to resume and the run starts fresh.
void check_run_folder_of(const std::string& out, bool resume);

// The command line's --quiet, --log-json and the demo's study (pipeline/runtime.hpp's run_log)
// into a run's config.
void apply_run_log(train::TrainConfig& cfg);

// Trains the preset's model with MSE on the preset's split, checkpoints into out_dir
// (resume: continue from out_dir/last.safetensors).
TrainedModel train_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::string& out_dir,
                               bool resume);

// Writes <out>/train.json and prints the best validation MSE of a finished run.
void report_run(const TrainedModel& tm, const nlohmann::json& preset, const std::string& out);

}  // namespace sdkd::tools
