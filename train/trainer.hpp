#pragma once
// Supervised training of a forecaster with MSE and Adam/AdamW, on the device the model lives on
// (batches are copied there): per-epoch shuffles fixed by
// (seed, epoch), validation MSE each epoch, the best model kept as best.safetensors, the full
// state (model, optimizer, epoch, history) as last.safetensors after every epoch, so a killed
// run resumes where it stopped and reproduces the same losses bit for bit on the CPU.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/train/study_progress.hpp"

namespace sdkd::train {

// The most epochs (and patience) and the largest batch a config may ask for.
constexpr int64_t kMaxEpochs = 100'000;
constexpr int64_t kMaxBatchSize = 100'000;

struct TrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 10;
  double lr = 1e-3;
  double weight_decay = 0;
  bool adamw = false;
  double grad_clip = 0;       // 0: off
  std::string schedule = "constant";  // constant, cosine or onecycle (over all epochs' steps)
  int64_t warmup_steps = 0;   // cosine only
  double min_lr = 0;          // cosine only
  int64_t patience = 0;       // early stop after this many epochs without improvement; 0: off
  // Train on the first this many trajectories of the training split (in split order; 0: all
  // of them). Validation, test and the data's normalisation statistics keep the whole splits,
  // so runs on fewer trajectories are scored alike and a teacher's scale still matches.
  int64_t trajectories = 0;
  uint64_t seed = 0;
  std::string out_dir;        // where last/best checkpoints and history.json go
  bool resume = false;        // continue from out_dir/last.safetensors if present
  bool quiet = false;          // no progress lines (errors still throw)
  std::string log_json;        // append one JSON object per epoch here ("-": stdout; train/epoch_log.hpp)
  StudyProgress* study = nullptr;  // the study this run belongs to, for "run r/R" and its ETA
  // CUDA only: capture forward + loss + backward of a full batch in a CUDA graph after two
  // eager steps and replay it (plain MSE training; runs with distillation hooks stay eager).
  bool cuda_graph = false;
  // Several processes (sdkd/distributed/): batch_size is per rank, so the global batch is
  // batch_size * world size. BatchNorm normalises over each rank's batch (local, PyTorch DDP's
  // default) or over the global one (sync: then 2 ranks at batch b train as 1 at 2b). Gradients
  // are all-reduced in buckets of bucket_kb KiB while backward runs.
  bool sync_batchnorm = false;
  int64_t bucket_kb = 25 * 1024;

  // Every key type- and range-checked (train/train_config.cpp); errors name
  // models::field_name(where, key), e.g. "preset.json: train.epochs must be an integer in
  // [1, 100000], got 1e+30".
  static TrainConfig from_json(const nlohmann::json& j, const std::string& where = "train");
  nlohmann::json to_json() const;
  // The same ranges for a config built in code; train_forecaster calls it first.
  void validate(const std::string& where = "train") const;
};

struct EpochRecord {
  int64_t epoch;
  double train_loss, val_mse, seconds;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  std::vector<double> step_losses;  // every optimizer step of this process
  double best_val_mse = 0;
  int64_t best_epoch = -1;
  double train_seconds = 0;         // summed over all sessions of a resumed run
  bool stopped_early = false;
};

// The loss of one batch and its named parts for the log line.
struct LossParts {
  Tensor total;
  std::vector<std::pair<std::string, double>> parts;
};
using Window = std::pair<int64_t, int64_t>;
using BatchLoss = std::function<LossParts(const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                                          const std::vector<Window>& windows)>;

// What distillation adds to plain training: a loss over the model's output and features, and
// an extra trainable module (feature adapters) optimised with the model and kept in
// last.safetensors under "kd." so a resumed run continues exactly. best.safetensors holds
// the model alone.
struct TrainHooks {
  BatchLoss loss;                 // default: MSE(pred, y)
  // Called before each epoch's first batch (0-based epoch, of the run's epochs), a resumed
  // run's first epoch included: a loss that changes over the epochs reads its stage here.
  std::function<void(int64_t epoch, int64_t epochs)> begin_epoch;
  nn::Module* extra = nullptr;
};

// Whether dir can take a run's outputs: a writable folder or one that can be created
// (check_output_dir), holding no other run's checkpoints unless the run resumes. Commands call
// it before they open data; train_forecaster calls it again.
void check_run_folder(const std::string& dir, bool resume);

// The training split's trajectories a run trains on (cfg.trajectories of them, or all); an
// error names both counts when the split has fewer.
std::vector<int64_t> training_trajectories(const data::Split& split, const TrainConfig& cfg);

// Checks cfg (TrainConfig::validate) and the output folder (check_run_folder) before any work;
// resume without a last.safetensors starts fresh. A non-finite
// training loss or validation MSE stops the run with an error naming the epoch and the last
// checkpoint of this run, if it has one; a diverged model is never saved.
TrainResult train_forecaster(models::Forecaster& model, const data::SequenceDataset& data, const data::Split& split,
                             const TrainConfig& cfg, const TrainHooks& hooks = {});

}  // namespace sdkd::train
