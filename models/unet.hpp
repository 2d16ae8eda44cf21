#pragma once
// The U-Net student (SPEC §2): frames folded into channels, two stride-2 downsamplings
// (64 -> 16), conv k3 + BatchNorm + LeakyReLU(0.1) units, ConvTranspose k4 s2 upsampling with
// skip concatenation, 1x1 output conv. Feature taps: "encoder" (before the bottleneck) and
// "latent" (after it) at H/4, "decoder" (the first decoder stage) at H/2.
#include "sdkd/models/forecaster.hpp"
#include "sdkd/models/layers.hpp"

namespace sdkd::models {

class UNet : public Forecaster {
 public:
  UNet(const ModelConfig& cfg, Generator& gen);
  ModelOutput forward(const Tensor& x) override;

 private:
  std::shared_ptr<ConvBNAct> inc_, down1_, conv1_, down2_, conv2_, mid_, dec1_, dec2_;
  std::shared_ptr<UpBNAct> up1_, up2_;
  std::shared_ptr<nn::Conv2d> out_;
};

}  // namespace sdkd::models
