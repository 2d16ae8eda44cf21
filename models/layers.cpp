#include "sdkd/models/layers.hpp"

namespace sdkd::models {

constexpr double kLeakySlope = 0.1;

ConvBNAct::ConvBNAct(int64_t in, int64_t out, Generator& gen, int stride) {
  // No conv bias: BatchNorm's shift makes it redundant.
  conv_ = register_module("conv", std::make_shared<nn::Conv2d>(in, out, 3, gen, stride, 1, 1, 1, false));
  bn_ = register_module("bn", std::make_shared<nn::BatchNorm2d>(out));
}

Tensor ConvBNAct::forward(const Tensor& x) { return leaky_relu(bn_->forward(conv_->forward(x)), kLeakySlope); }

UpBNAct::UpBNAct(int64_t in, int64_t out, Generator& gen) {
  up_ = register_module("up", std::make_shared<nn::ConvTranspose2d>(in, out, 4, gen, 2, 1, 0, 1, false));
  bn_ = register_module("bn", std::make_shared<nn::BatchNorm2d>(out));
}

Tensor UpBNAct::forward(const Tensor& x) { return leaky_relu(bn_->forward(up_->forward(x)), kLeakySlope); }

}  // namespace sdkd::models
