#pragma once
// Forecasters to and from checkpoints: the door an embedding program uses for inference.
// A checkpoint written by `sdkd train` / `sdkd distill` (best.safetensors, last.safetensors) or
// by save_forecaster holds the model's parameters and buffers, its config under the metadata
// key "model" and, when it was trained on z-scored data, the normalisation under
// "normalization"; load_forecaster rebuilds the model from them alone.
#include <memory>
#include <string>

#include "sdkd/checkpoint.hpp"
#include "sdkd/models/forecaster.hpp"

namespace sdkd::models {

// The metadata that makes a checkpoint loadable: {"model": config JSON} and, with a z-score
// normalisation, {"normalization": ...}. The trainer writes these into every checkpoint.
Metadata forecaster_metadata(const Forecaster& model);

// Writes the model's parameters and buffers with forecaster_metadata (plus `extra`, which may
// not override those keys), atomically.
void save_forecaster(const std::string& path, const Forecaster& model, const Metadata& extra = {});

// A fresh model built from the checkpoint's "model" metadata, its weights loaded (optimizer
// state ignored), its normalisation restored, in eval mode, on `device`. Throws sdkd::Error
// naming the file: missing, not an sdkd checkpoint, unknown model, weights that do not fit the
// config, non-finite weights (a diverged run), or a CUDA device in a build without CUDA.
std::shared_ptr<Forecaster> load_forecaster(const std::string& checkpoint, Device device = Device{});

// The forecast of `frames` in the data's units, without recording a graph: (B, T_in, C, H, W)
// -> (B, T_out, C, H, W), or one window (T_in, C, H, W) -> (T_out, C, H, W). The frames move to
// the model's device and the forecast comes back on the frames' device; float64 frames are
// converted to the model's float32 and back.
Tensor forecast(Forecaster& model, const Tensor& frames);

}  // namespace sdkd::models
