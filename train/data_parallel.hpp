#pragma once
// What the trainer does differently when several processes train one model
// (sdkd/distributed/process_group.hpp): the same starting weights everywhere, validation on
// shards, and a check that the replicas stayed identical.
#include <string>
#include <vector>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/nn.hpp"

namespace sdkd::train {

// Copies rank 0's parameters and buffers of m into every rank's m.
void broadcast_module(dist::ProcessGroup& group, nn::Module& m);
// Copies rank 0's buffers (BatchNorm running statistics) into every rank's: with local
// BatchNorm they drift apart, and every rank must validate the model rank 0 saves.
void broadcast_buffers(dist::ProcessGroup& group, nn::Module& m);

// This rank's part of the windows: the r-th of `size` consecutive near-equal parts.
std::vector<std::pair<int64_t, int64_t>> shard_windows(const std::vector<std::pair<int64_t, int64_t>>& windows,
                                                      int rank, int size);

// Validation MSE over every rank's shard of `windows`: the mean over all windows of each
// window's MSE (each window has the same number of values, so this is the MSE of the whole set).
double sharded_validation_mse(dist::ProcessGroup& group, models::Forecaster& model, const data::SequenceDataset& data,
                              const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t batch_size);

// Throws, on every rank alike, when the ranks' parameters differ (a reduction that did not give
// every rank the same bits, or a rank that skipped a step): `when` says after what.
void check_replicas_agree(dist::ProcessGroup& group, const nn::Module& m, const std::string& when);

// The same start on every rank, or one error naming what differs (a resumed run whose
// last.safetensors only rank 0 can see).
void check_same_start(dist::ProcessGroup& group, int64_t start_epoch, const std::string& last_path);

}  // namespace sdkd::train
