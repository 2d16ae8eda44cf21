#pragma once
// Teacher T2, SimVP (pure CNN, SPEC §2): the shared teacher skeleton (models/latent_teacher.hpp)
// with a translator of gated large-kernel blocks (ours, after SimVP v2's gSTA).
#include "sdkd/models/latent_teacher.hpp"

namespace sdkd::models {

// x + proj(LKA(BN(x)) * BN(x)), LKA = 1x1(dw7x7 dilation 3(dw5x5)), then x + MLP(BN(x)) with
// 1x1 convs and GELU: a VAN-style large-kernel attention whose map gates its own input.
class GatedBlock : public TranslatorBlock {
 public:
  GatedBlock(int64_t dim, int64_t mlp_ratio, Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::BatchNorm2d> norm1_, norm2_;
  std::shared_ptr<nn::Conv2d> dw5_, dw7_, pw_, proj_, fc1_, fc2_;
};

class SimVP : public LatentTeacher {
 public:
  SimVP(const ModelConfig& cfg, Generator& gen);
};

}  // namespace sdkd::models
