#include "models/forecaster.hpp"

#include <utility>
#include <vector>

#include "models/alternet.hpp"
#include "models/mixer.hpp"
#include "models/resnet.hpp"
#include "models/simvp.hpp"
#include "models/unet.hpp"
#include "sdkd/error.hpp"

namespace sdkd::models {

namespace {
// The integer fields by JSON key, so parsing, writing and the "known keys" list share one table.
const std::vector<std::pair<const char*, int64_t ModelConfig::*>>& int_fields() {
  static const std::vector<std::pair<const char*, int64_t ModelConfig::*>> fields = {
      {"in_frames", &ModelConfig::in_frames}, {"out_frames", &ModelConfig::out_frames},
      {"channels", &ModelConfig::channels},   {"height", &ModelConfig::height},
      {"width", &ModelConfig::width},         {"hidden", &ModelConfig::hidden},
      {"hid_S", &ModelConfig::hid_S},         {"hid_T", &ModelConfig::hid_T},
      {"N_S", &ModelConfig::N_S},             {"N_T", &ModelConfig::N_T},
      {"heads", &ModelConfig::heads},         {"blocks", &ModelConfig::blocks},
      {"mlp_ratio", &ModelConfig::mlp_ratio}};
  return fields;
}

std::string known_keys() {
  std::string s = "name, residual";
  for (const auto& [key, field] : int_fields()) s += str_cat(", ", key);
  return s;
}
}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    try {
      if (k == "name") {
        c.name = it->get<std::string>();
        continue;
      }
      if (k == "residual") {
        c.residual = it->get<bool>();
        continue;
      }
      bool found = false;
      for (const auto& [key, field] : int_fields())
        if (k == key) {
          c.*field = it->get<int64_t>();
          found = true;
        }
      if (!found) throw Error(str_cat("model config: unknown key '", k, "' (known: ", known_keys(), ")"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat("model config: key '", k, "' has the wrong type: ", e.what()));
    }
  }
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {{"name", name}, {"residual", residual}};
  for (const auto& [key, field] : int_fields()) j[key] = this->*field;
  return j;
}

void Forecaster::check_input(const Tensor& x) const {
  const Shape want = {cfg_.in_frames, cfg_.channels, cfg_.height, cfg_.width};
  SDKD_CHECK(x.dim() == 5 && Shape(x.shape().begin() + 1, x.shape().end()) == want, cfg_.name,
             ": expected input (B, ", cfg_.in_frames, ", ", cfg_.channels, ", ", cfg_.height, ", ", cfg_.width,
             "), got ", shape_str(x.shape()));
}

std::shared_ptr<Forecaster> make_model(const ModelConfig& cfg, Generator& gen) {
  SDKD_CHECK(cfg.in_frames >= 1 && cfg.out_frames >= 1 && cfg.channels >= 1 && cfg.hidden >= 1,
             cfg.name, ": frames, channels and hidden width must be >= 1");
  if (cfg.name == "unet") return std::make_shared<UNet>(cfg, gen);
  if (cfg.name == "resnet") return std::make_shared<ResNet>(cfg, gen);
  if (cfg.name == "mixer") return std::make_shared<Mixer>(cfg, gen);
  if (cfg.name == "simvp") return std::make_shared<SimVP>(cfg, gen);
  if (cfg.name == "alternet") return std::make_shared<AlterNet>(cfg, gen);
  throw Error(str_cat("unknown model '", cfg.name, "' (available: unet, resnet, mixer, simvp, alternet)"));
}

int64_t latent_channels(const ModelConfig& cfg) {
  if (cfg.name == "unet" || cfg.name == "mixer") return 4 * cfg.hidden;
  if (cfg.name == "resnet") return cfg.hidden;
  if (cfg.name == "simvp" || cfg.name == "alternet") return cfg.in_frames * cfg.hid_S;
  throw Error(str_cat("unknown model '", cfg.name, "' (available: unet, resnet, mixer, simvp, alternet)"));
}

}  // namespace sdkd::models
