#include "sdkd/models/resnet.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

constexpr double kLeakySlope = 0.1;  // as the U-Net student's units (models/layers.cpp)

ResidualBlock::ResidualBlock(int64_t width, Generator& gen) {
  first_ = register_module("conv1", std::make_shared<ConvBNAct>(width, width, gen));
  conv2_ = register_module("conv2", std::make_shared<nn::Conv2d>(width, width, 3, gen, 1, 1, 1, 1, false));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(width));
}

Tensor ResidualBlock::forward(const Tensor& x) {
  return leaky_relu(add(x, bn2_->forward(conv2_->forward(first_->forward(x)))), kLeakySlope);
}

Tensor avg_pool(const Tensor& x, int64_t f) {
  SDKD_CHECK(x.dim() == 4 && x.size(2) % f == 0 && x.size(3) % f == 0, "avg_pool: expected (B, C, H, W) with H, W ",
             "divisible by ", f, ", got ", shape_str(x.shape()));
  const int64_t B = x.size(0), C = x.size(1), h = x.size(2) / f, w = x.size(3) / f;
  return mean(x.reshape({B, C, h, f, w, f}), {3, 5});
}

ResNet::ResNet(const ModelConfig& cfg, Generator& gen) : Forecaster(cfg) {
  SDKD_CHECK(cfg.height % 4 == 0 && cfg.width % 4 == 0, "resnet: height and width must be divisible by 4 (the ",
             "H/4 tap), got ", cfg.height, "x", cfg.width);
  SDKD_CHECK(cfg.blocks >= 1, "resnet: blocks must be >= 1, got ", cfg.blocks);
  const int64_t w = cfg.hidden;
  stem_ = register_module("stem", std::make_shared<ConvBNAct>(cfg.in_frames * cfg.channels, w, gen));
  for (int64_t i = 0; i < cfg.blocks; ++i)
    blocks_.push_back(register_module(str_cat("blocks.", i), std::make_shared<ResidualBlock>(w, gen)));
  out_ = register_module("out", std::make_shared<nn::Conv2d>(w, cfg.out_frames * cfg.channels, 1, gen));
}

ModelOutput ResNet::forward(const Tensor& x) {
  check_input(x);
  const int64_t B = x.size(0), H = cfg_.height, W = cfg_.width;
  Tensor h = stem_->forward(x.reshape({B, cfg_.in_frames * cfg_.channels, H, W}));
  for (auto& b : blocks_) h = b->forward(h);
  Tensor y = out_->forward(h).reshape({B, cfg_.out_frames, cfg_.channels, H, W});
  if (cfg_.residual) y = add(y, x.slice(1, cfg_.in_frames - 1, cfg_.in_frames));
  return {y, {{"latent", avg_pool(h, 4)}}};
}

}  // namespace sdkd::models
