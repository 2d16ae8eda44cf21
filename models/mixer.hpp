#pragma once
// The MLP-Mixer student (SPEC §2). Frames folded into channels, cut into 4x4 patches: tokens
// (B, N = H/4 * W/4, 16 * T_in * C) -> linear embedding to width D = 4 * hidden (the U-Net's
// H/4 width); `blocks` mixer blocks, each x + TokenMLP(LN(x)) across the N tokens then
// x + ChannelMLP(LN(x)) across the D features (GELU); final LayerNorm; linear head back to
// 4x4 patches of the T_out * C output channels. Hidden sizes as timm's Mixer: token MLP D/2
// (at least 1), channel MLP mlp_ratio * D. "latent" tap: the tokens after the last block as
// (B, D, H/4, W/4).
#include <vector>

#include "sdkd/models/forecaster.hpp"

namespace sdkd::models {

class MixerBlock : public nn::Module {
 public:
  MixerBlock(int64_t tokens, int64_t dim, int64_t token_hidden, int64_t channel_hidden, Generator& gen);
  Tensor forward(const Tensor& x);  // (B, N, D) -> (B, N, D)

 private:
  std::shared_ptr<nn::LayerNorm> norm1_, norm2_;
  std::shared_ptr<nn::Linear> tok1_, tok2_, ch1_, ch2_;
};

class Mixer : public Forecaster {
 public:
  Mixer(const ModelConfig& cfg, Generator& gen);
  ModelOutput forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Linear> embed_, head_;
  std::vector<std::shared_ptr<MixerBlock>> blocks_;
  std::shared_ptr<nn::LayerNorm> norm_;
};

}  // namespace sdkd::models
