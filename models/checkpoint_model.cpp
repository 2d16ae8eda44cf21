#include "sdkd/models/checkpoint_model.hpp"

#include <filesystem>

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/models/config_json.hpp"

namespace sdkd::models {

namespace fs = std::filesystem;

Metadata forecaster_metadata(const Forecaster& model) {
  Metadata meta{{"model", model.config().to_json().dump()}};
  if (model.normalization().zscore) meta[kNormalizationKey] = model.normalization().to_metadata();
  return meta;
}

void save_forecaster(const std::string& path, const Forecaster& model, const Metadata& extra) {
  Metadata meta = forecaster_metadata(model);
  for (const auto& [k, v] : extra) {
    SDKD_CHECK(k != "model" && k != kNormalizationKey, "save_forecaster ", path, ": metadata key '", k,
               "' is the model's own (its config and normalisation are written from the model)");
    meta[k] = v;
  }
  save_checkpoint(path, model, nullptr, meta);
}

std::shared_ptr<Forecaster> load_forecaster(const std::string& checkpoint, Device device) {
  SDKD_CHECK(fs::exists(checkpoint), checkpoint, ": checkpoint not found");
  Metadata meta;
  const TensorMap tensors = load_tensors(checkpoint, &meta);
  SDKD_CHECK(meta.count("model"), checkpoint,
             ": no 'model' entry in the metadata (not a forecaster checkpoint: write one with sdkd train, sdkd "
             "distill or models::save_forecaster)");
  const std::string where = checkpoint + ": metadata model";
  const auto cfg = ModelConfig::from_json(parse_json(meta.at("model"), where), where);
  Generator g(0);
  auto model = make_model(cfg, g);
  TensorMap weights;
  for (const auto& [k, t] : tensors)
    if (k.rfind("optim.", 0) != 0) weights[k] = t;
  // A diverged model forecasts NaN everywhere: as a teacher it would make every student NaN.
  if (const std::string bad = first_non_finite(weights); !bad.empty())
    throw Error(str_cat(checkpoint, ": tensor '", bad, "' holds non-finite values (NaN or infinity): the checkpoint of "
                        "a diverged run cannot be used as a model"));
  try {
    model->load_state_dict(weights);
  } catch (const Error& e) {
    throw Error(str_cat(checkpoint, ": ", e.what(), " (the weights do not fit the '", cfg.name,
                        "' model its metadata describes)"));
  }
  if (meta.count(kNormalizationKey))
    model->set_normalization(DataNormalization::from_metadata(meta.at(kNormalizationKey), checkpoint));
  model->eval();
  if (!device.is_cpu()) model->to(device);
  return model;
}

Tensor forecast(Forecaster& model, const Tensor& frames) {
  const ModelConfig& c = model.config();
  const bool one = frames.dim() == 4;
  SDKD_CHECK(one || frames.dim() == 5, "forecast: expected frames (B, T_in, C, H, W) or one window (T_in, C, H, W), got ",
             shape_str(frames.shape()));
  NoGradGuard ng;
  const auto params = model.parameters();
  const Device dev = params.empty() ? frames.device() : params.front().device();
  const DType dt = params.empty() ? DType::f32 : params.front().dtype();
  Tensor x = frames.to(dev);
  if (x.dtype() != dt) x = x.to(dt);
  if (one) x = x.unsqueeze(0);
  SDKD_CHECK(x.size(1) == c.in_frames, "forecast: the model reads ", c.in_frames, " input frames, got ",
             shape_str(frames.shape()));
  Tensor y = model.predict(x);
  if (one) y = y.squeeze(0);
  if (y.dtype() != frames.dtype()) y = y.to(frames.dtype());
  return y.to(frames.device());
}

}  // namespace sdkd::models
