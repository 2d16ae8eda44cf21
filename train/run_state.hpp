#pragma once
// What last.safetensors holds besides the weights, so a killed run resumes exactly: the model,
// the extra module (distillation adapters, under "kd.") and the optimizer moments (under
// "optim."), and in the metadata the epoch, the best validation MSE and its epoch, the summed
// training time and the history. Reading it back checks every value (the file may have been
// edited): errors name the file and the key.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/models/normalization.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/nn.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::train {

// The prefix of the extra module's tensors in last.safetensors and of its parameters' names in
// the optimizer.
constexpr const char* kExtraPrefix = "kd.";

struct RunState {
  int64_t epoch = -1;  // the last finished epoch (0-based)
  double best_val_mse = 0;
  int64_t best_epoch = -1;
  double train_seconds = 0;
  std::vector<EpochRecord> history;
  models::DataNormalization normalization;  // metadata "normalization"; absent: none
};

nlohmann::json history_json(const std::vector<EpochRecord>& h);

// meta: the entries the caller adds (model and train config); the state's are added here.
void save_run_state(const std::string& path, const nn::Module& model, const nn::Module* extra, const optim::Adam& opt,
                    Metadata meta, const RunState& state);
RunState load_run_state(const std::string& path, nn::Module& model, nn::Module* extra, optim::Adam& opt);

}  // namespace sdkd::train
