#pragma once
// Checkpoints as safetensors files (readable by PyTorch's `safetensors.torch.load_file`):
// the model's parameters and buffers under their own names, the optimizer's moments under
// "optim.<param>.exp_avg", and free-form string metadata (epoch, step, config, RNG offsets).
// Files are written atomically (temp + rename), so a kill never leaves half a checkpoint.
#include <map>
#include <string>

#include "sdkd/nn.hpp"
#include "sdkd/optim.hpp"

namespace sdkd {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

void save_tensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
// Loads every tensor (F32 or F64) of a safetensors file; metadata into *metadata if given.
TensorMap load_tensors(const std::string& path, Metadata* metadata = nullptr);

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Adam* optimizer,
                     const Metadata& metadata);
// Restores the model (strict names and shapes) and, if given, the optimizer; returns metadata.
// Errors name the file and the entry that does not fit.
Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Adam* optimizer = nullptr);

// Whether every element of t is finite (no NaN, no infinity), on any device; integer tensors
// always are. And the name of the first tensor of a map that is not, "" when all are: a
// diverged run's weights are never saved or loaded as a model.
bool all_finite(const Tensor& t);
std::string first_non_finite(const TensorMap& tensors);

// Metadata values read back with checked conversions (a file may have been edited): a missing
// key, or text that is not wholly one number, is an sdkd::Error naming the file and the key,
// never a std::stoll or map::at exception. Ranges are the caller's (models/config_json.hpp).
const std::string& metadata_value(const Metadata& meta, const std::string& key, const std::string& path);
int64_t metadata_int(const Metadata& meta, const std::string& key, const std::string& path);
double metadata_number(const Metadata& meta, const std::string& key, const std::string& path);

}  // namespace sdkd
