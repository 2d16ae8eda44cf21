#pragma once
// The ResNet student (SPEC §2: "no downsampling, residual blocks"). Frames folded into
// channels; stem conv k3 + BatchNorm + LeakyReLU(0.1) to width `hidden`; `blocks` residual
// blocks (conv-BN-LeakyReLU-conv-BN, + skip, LeakyReLU) all at full resolution; 1x1 output conv.
// The "latent" tap is the last block's output average-pooled 4x4 to (B, hidden, H/4, W/4).
// Why full resolution and a pooled tap rather than strided stems: the SPEC asks for a student
// without downsampling (it is the single-scale contrast to the U-Net), and a 4x4 mean is the
// plain low-pass-and-decimate of the very features the head reads, so distilling it shapes the
// prediction path and not a side branch.
#include <vector>

#include "sdkd/models/forecaster.hpp"
#include "sdkd/models/layers.hpp"

namespace sdkd::models {

class ResidualBlock : public nn::Module {
 public:
  ResidualBlock(int64_t width, Generator& gen);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<ConvBNAct> first_;
  std::shared_ptr<nn::Conv2d> conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn2_;
};

class ResNet : public Forecaster {
 public:
  ResNet(const ModelConfig& cfg, Generator& gen);
  ModelOutput forward(const Tensor& x) override;

 private:
  std::shared_ptr<ConvBNAct> stem_;
  std::vector<std::shared_ptr<ResidualBlock>> blocks_;
  std::shared_ptr<nn::Conv2d> out_;
};

// (B, C, H, W) -> (B, C, H/f, W/f) by averaging f x f tiles (H, W divisible by f).
Tensor avg_pool(const Tensor& x, int64_t f);

}  // namespace sdkd::models
