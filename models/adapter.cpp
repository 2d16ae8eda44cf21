#include "sdkd/models/adapter.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

FeatureAdapter::FeatureAdapter(int64_t in, int64_t out, Generator& gen, int kernel) : in_(in), out_(out) {
  SDKD_CHECK(in >= 1 && out >= 1, "FeatureAdapter: channel counts must be >= 1, got ", in, " -> ", out);
  SDKD_CHECK(kernel == 1 || kernel == 3, "FeatureAdapter: kernel must be 1 or 3, got ", kernel);
  conv_ = register_module("conv", std::make_shared<nn::Conv2d>(in, out, kernel, gen));
}

Tensor FeatureAdapter::forward(const Tensor& x) {
  SDKD_CHECK(x.dim() == 4 && x.size(1) == in_, "FeatureAdapter(", in_, " -> ", out_, "): expected (B, ", in_,
             ", h, w), got ", shape_str(x.shape()));
  return conv_->forward(x);
}

std::shared_ptr<FeatureAdapter> make_adapter(const ModelConfig& student, const ModelConfig& teacher, Generator& gen) {
  return std::make_shared<FeatureAdapter>(latent_channels(student), latent_channels(teacher), gen);
}

}  // namespace sdkd::models
