#include "sdkd/models/forecaster.hpp"

#include <utility>
#include <vector>

#include "sdkd/models/alternet.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/mixer.hpp"
#include "sdkd/models/resnet.hpp"
#include "sdkd/models/simvp.hpp"
#include "sdkd/models/unet.hpp"
#include "sdkd/error.hpp"

namespace sdkd::models {

namespace {
// The integer fields by JSON key with their sane range, so parsing, checking, writing and the
// "known keys" list share one table. The maxima are far above any model we train (the paper's
// teacher has hid_T 512) and keep every weight tensor's byte count well inside 64 bits, so a
// width such as 2^40 is refused here instead of reaching the allocator.
struct IntField {
  const char* key;
  int64_t ModelConfig::*member;
  int64_t lo, hi;
};
const std::vector<IntField>& int_fields() {
  static const std::vector<IntField> fields = {
      {"in_frames", &ModelConfig::in_frames, 1, 1000}, {"out_frames", &ModelConfig::out_frames, 1, 1000},
      {"channels", &ModelConfig::channels, 1, 1024},   {"height", &ModelConfig::height, 1, 16384},
      {"width", &ModelConfig::width, 1, 16384},        {"hidden", &ModelConfig::hidden, 1, 4096},
      {"hid_S", &ModelConfig::hid_S, 1, 4096},         {"hid_T", &ModelConfig::hid_T, 1, 16384},
      {"N_S", &ModelConfig::N_S, 1, 64},               {"N_T", &ModelConfig::N_T, 1, 256},
      {"heads", &ModelConfig::heads, 1, 256},          {"blocks", &ModelConfig::blocks, 1, 256},
      {"mlp_ratio", &ModelConfig::mlp_ratio, 1, 64}};
  return fields;
}

std::string known_keys() {
  std::string s = "name, residual";
  for (const auto& f : int_fields()) s += str_cat(", ", f.key);
  return s;
}
}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ModelConfig c;
  for (const auto& [k, v] : json_object(j, where).items()) {
    if (k == "name") {
      c.name = json_string(v, where, k);
      continue;
    }
    if (k == "residual") {
      c.residual = json_bool(v, where, k);
      continue;
    }
    bool found = false;
    for (const auto& f : int_fields())
      if (k == f.key) {
        c.*f.member = json_int(v, where, k, f.lo, f.hi);
        found = true;
      }
    SDKD_CHECK(found, where, ": unknown key '", k, "' (known: ", known_keys(), ")");
  }
  return c;
}

void ModelConfig::validate(const std::string& where) const {
  for (const auto& f : int_fields()) check_int(this->*f.member, where, f.key, f.lo, f.hi);
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {{"name", name}, {"residual", residual}};
  for (const auto& f : int_fields()) j[f.key] = this->*f.member;
  return j;
}

void Forecaster::check_input(const Tensor& x) const {
  const Shape want = {cfg_.in_frames, cfg_.channels, cfg_.height, cfg_.width};
  SDKD_CHECK(x.dim() == 5 && Shape(x.shape().begin() + 1, x.shape().end()) == want, cfg_.name,
             ": expected input (B, ", cfg_.in_frames, ", ", cfg_.channels, ", ", cfg_.height, ", ", cfg_.width,
             "), got ", shape_str(x.shape()));
}

std::shared_ptr<Forecaster> make_model(const ModelConfig& cfg, Generator& gen) {
  cfg.validate();
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
