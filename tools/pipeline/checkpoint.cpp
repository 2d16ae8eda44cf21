#include "tools/pipeline/checkpoint.hpp"

#include "sdkd/models/checkpoint_model.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

std::shared_ptr<models::Forecaster> load_model(const std::string& checkpoint) {
  return models::load_forecaster(checkpoint, compute_device());
}

}  // namespace sdkd::tools
