#pragma once
// The interface every forecaster implements: (B, T_in, C, H, W) -> (B, T_out, C, H, W), plus
// named feature maps that distillation can tap ("latent" is the H/4 feature of a student).
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sdkd/nn.hpp"

namespace sdkd::models {

struct ModelOutput {
  Tensor pred;
  std::map<std::string, Tensor> features;
};

struct ModelConfig {
  std::string name = "unet";
  int64_t in_frames = 10, out_frames = 10, channels = 1, height = 64, width = 64;
  int64_t hidden = 16;        // base width
  bool residual = true;       // predict the change from the last input frame (ours)

  static ModelConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Forecaster : public nn::Module {
 public:
  explicit Forecaster(ModelConfig cfg) : cfg_(std::move(cfg)) {}
  virtual ModelOutput forward(const Tensor& x) = 0;
  const ModelConfig& config() const { return cfg_; }

 protected:
  // Checks x against the configured (T_in, C, H, W) with a clear error.
  void check_input(const Tensor& x) const;
  ModelConfig cfg_;
};

// Builds a model by name ("unet"); throws naming the valid names otherwise.
std::shared_ptr<Forecaster> make_model(const ModelConfig& cfg, Generator& gen);

}  // namespace sdkd::models
