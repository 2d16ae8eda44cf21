#pragma once
// The skeleton both teachers share (SPEC §2): a per-frame encoder (models/encoder.hpp), latent
// Z = frames stacked in channels (B, T*hid_S, H/4, W/4), a translator (1x1 conv T*hid_S ->
// hid_T, N_T blocks at width hid_T, 1x1 conv back), the mirrored decoder with the skip of the
// first encoder block. Feature taps: "encoder" = Z before the translator, "latent" = after it
// (both (B, T*hid_S, H/4, W/4)), "decoder" = the decoder's last half-resolution feature,
// frames stacked in channels as in Z: (B, T*hid_S, H/2, W/2).
// SimVP and ST-AlterNet differ only in the translator block.
#include <functional>
#include <vector>

#include "sdkd/models/encoder.hpp"
#include "sdkd/models/forecaster.hpp"

namespace sdkd::models {

// One block of the translator: (B, hid_T, h, w) -> same shape.
class TranslatorBlock : public nn::Module {
 public:
  virtual Tensor forward(const Tensor& z) = 0;
};

class LatentTeacher : public Forecaster {
 public:
  using BlockFactory = std::function<std::shared_ptr<TranslatorBlock>(const ModelConfig&, Generator&)>;
  // Builds (and draws the initial weights of) encoder, input projection, the N_T blocks,
  // output projection and decoder, in that order.
  LatentTeacher(const ModelConfig& cfg, Generator& gen, const BlockFactory& make_block);
  ModelOutput forward(const Tensor& x) override;

 private:
  std::shared_ptr<FrameEncoder> enc_;
  std::shared_ptr<nn::Conv2d> in_, out_;
  std::vector<std::shared_ptr<TranslatorBlock>> blocks_;
  std::shared_ptr<FrameDecoder> dec_;
};

}  // namespace sdkd::models
