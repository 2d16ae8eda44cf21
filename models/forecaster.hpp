#pragma once
// The interface every forecaster implements: (B, T_in, C, H, W) -> (B, T_out, C, H, W), plus
// named feature maps that distillation can tap ("latent" is the H/4 feature of a student).
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sdkd/models/normalization.hpp"
#include "sdkd/nn.hpp"

namespace sdkd::models {

struct ModelOutput {
  Tensor pred;
  std::map<std::string, Tensor> features;
};

struct ModelConfig {
  std::string name = "unet";
  int64_t in_frames = 10, out_frames = 10, channels = 1, height = 64, width = 64;
  int64_t hidden = 16;        // student base width (U-Net, ResNet, MLP-Mixer)
  bool residual = true;       // predict the change from the last input frame (ours)
  // Teachers (SimVP, ST-AlterNet), in the paper's notation: per-frame encoder width hid_S,
  // latent-evolution width hid_T, N_S encoder (and decoder) blocks, N_T latent blocks.
  int64_t hid_S = 16, hid_T = 128, N_S = 4, N_T = 4;
  int64_t heads = 4;          // AlterNet attention heads (hid_T % heads == 0)
  int64_t blocks = 4;         // student depth: ResNet residual blocks, Mixer blocks
  int64_t mlp_ratio = 2;      // hidden/width of every channel MLP (SimVP, AlterNet, Mixer)

  // Every key type- and range-checked; errors name field_name(where, key), e.g.
  // "preset.json: model.hidden must be an integer in [1, 4096], got 1099511627776".
  static ModelConfig from_json(const nlohmann::json& j, const std::string& where = "model");
  nlohmann::json to_json() const;
  // The same ranges for a config built in code (make_model calls it).
  void validate(const std::string& where = "model") const;
};

class Forecaster : public nn::Module {
 public:
  explicit Forecaster(ModelConfig cfg) : cfg_(std::move(cfg)) {}
  // On the model's own scale: with z-score normalisation (normalization()), x and pred are
  // normalised values; features are the model's either way.
  virtual ModelOutput forward(const Tensor& x) = 0;
  // The forecast in the data's units: forward on normalization().to_model(x), mapped back.
  // The identity normalisation makes this forward(x).pred exactly.
  Tensor predict(const Tensor& x) { return data_norm_.to_data(forward(data_norm_.to_model(x)).pred); }
  const ModelConfig& config() const { return cfg_; }
  // Fitted by whoever trains the model (tools/pipeline/training.hpp) and stored with it in
  // the checkpoints; not a parameter, so optimizers and state dicts never see it.
  const DataNormalization& normalization() const { return data_norm_; }
  void set_normalization(const DataNormalization& n) { data_norm_ = n; }

 protected:
  // Checks x against the configured (T_in, C, H, W) with a clear error.
  void check_input(const Tensor& x) const;
  ModelConfig cfg_;
  DataNormalization data_norm_;
};

// Builds a model by name ("unet", "resnet", "mixer", "simvp", "alternet"); throws naming
// the valid names otherwise.
std::shared_ptr<Forecaster> make_model(const ModelConfig& cfg, Generator& gen);

// Channels of the model's "latent" feature tap (at H/4), without building it; distillation
// sizes the student's FeatureAdapter (models/adapter.hpp) from the two configs.
int64_t latent_channels(const ModelConfig& cfg);

}  // namespace sdkd::models
