#pragma once
// Scoring on the test set: a model (accuracy and cost) or the persistence baseline.
#include <cstdint>

#include "tools/pipeline/eval_row.hpp"
#include "tools/pipeline/windows.hpp"  // TestSet

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Accuracy on ts, parameters, FLOPs, batch-1 latency and the memory of one training step at
// train_batch (pipeline/cost.hpp). The row's role, kd, seed and train_seconds are the caller's.
EvalRow evaluate_model(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                       int64_t train_batch);
// The model's MSE on the preset's validation windows (the split the trainer chose its best
// epoch on), in batches of the test set's size: what a study chooses hyperparameters by.
double validation_mse(models::Forecaster& model, const data::SequenceDataset& ds, const nlohmann::json& preset,
                      int64_t batch);
// The last observed frame repeated (role "baseline").
EvalRow evaluate_persistence(const data::SequenceDataset& ds, const TestSet& ts);

}  // namespace sdkd::tools
