#include "models/forecaster.hpp"

#include "models/unet.hpp"
#include "sdkd/error.hpp"

namespace sdkd::models {

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    try {
      if (k == "name") c.name = it->get<std::string>();
      else if (k == "in_frames") c.in_frames = it->get<int64_t>();
      else if (k == "out_frames") c.out_frames = it->get<int64_t>();
      else if (k == "channels") c.channels = it->get<int64_t>();
      else if (k == "height") c.height = it->get<int64_t>();
      else if (k == "width") c.width = it->get<int64_t>();
      else if (k == "hidden") c.hidden = it->get<int64_t>();
      else if (k == "residual") c.residual = it->get<bool>();
      else throw Error(str_cat("model config: unknown key '", k, "' (known: name, in_frames, out_frames, channels, height, width, hidden, residual)"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat("model config: key '", k, "' has the wrong type: ", e.what()));
    }
  }
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  return {{"name", name},     {"in_frames", in_frames}, {"out_frames", out_frames}, {"channels", channels},
          {"height", height}, {"width", width},         {"hidden", hidden},         {"residual", residual}};
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
  throw Error(str_cat("unknown model '", cfg.name, "' (available: unet)"));
}

}  // namespace sdkd::models
