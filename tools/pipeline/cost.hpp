#pragma once
// What a model costs: FLOPs per sample, batch-1 latency, memory of one training step.
#include <cstdint>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// FLOPs of one forward pass per sample (batch of one, counted by the engine's ops).
int64_t flops_per_sample(models::Forecaster& model);
// Latency of a batch-1 forward pass in eval mode: the fastest of 7 after a warm-up, the
// figure least disturbed by other work on the machine.
double inference_ms(models::Forecaster& model, const Tensor& x_host);
// Peak bytes (host, or the CUDA allocator's for a model on a GPU) of one training step
// (forward + backward) at the given batch size of test windows, the weights included; the
// model's state (BatchNorm running statistics) is restored afterwards.
int64_t train_step_bytes(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                         int64_t batch);

}  // namespace sdkd::tools
