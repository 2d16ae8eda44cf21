#include "tools/pipeline/checkpoint.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "models/config_json.hpp"
#include "models/forecaster.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/error.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

std::shared_ptr<models::Forecaster> load_model(const std::string& checkpoint) {
  SDKD_CHECK(fs::exists(checkpoint), checkpoint, ": checkpoint not found");
  Metadata meta;
  const TensorMap tensors = load_tensors(checkpoint, &meta);
  SDKD_CHECK(meta.count("model"), checkpoint, ": no 'model' entry in the metadata (not an sdkd checkpoint?)");
  const std::string where = checkpoint + ": metadata model";
  const auto cfg = models::ModelConfig::from_json(models::parse_json(meta.at("model"), where), where);
  Generator g(0);
  auto model = models::make_model(cfg, g);
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
    throw Error(checkpoint + ": " + e.what());
  }
  if (meta.count(models::kNormalizationKey))
    model->set_normalization(models::DataNormalization::from_metadata(meta.at(models::kNormalizationKey), checkpoint));
  model->eval();
  place(*model);
  return model;
}

}  // namespace sdkd::tools
