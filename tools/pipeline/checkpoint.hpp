#pragma once
// A trained model back from its checkpoint.
#include <memory>
#include <string>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Loads best.safetensors (or any checkpoint with "model" metadata) into a fresh model, in
// eval mode, on compute_device() (pipeline/runtime.hpp), with the data normalisation it was
// trained with (its "normalization" metadata; none without it).
std::shared_ptr<models::Forecaster> load_model(const std::string& checkpoint);

}  // namespace sdkd::tools
