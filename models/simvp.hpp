#pragma once
// Teacher T2, SimVP (pure CNN, SPEC §2): per-frame encoder (models/encoder.hpp), latent
// Z = frames stacked in channels (B, T*hid_S, H/4, W/4), a translator, the mirrored decoder.
// Translator (ours, after SimVP v2's gSTA): 1x1 conv T*hid_S -> hid_T, N_T gated large-kernel
// blocks at width hid_T, 1x1 conv hid_T -> T*hid_S. Feature taps: "encoder" = Z before the
// translator, "latent" = after it, both (B, T*hid_S, H/4, W/4).
#include "models/encoder.hpp"
#include "models/forecaster.hpp"

namespace sdkd::models {

// x + proj(LKA(BN(x)) * BN(x)), LKA = 1x1(dw7x7 dilation 3(dw5x5)), then x + MLP(BN(x)) with
// 1x1 convs and GELU: a VAN-style large-kernel attention whose map gates its own input.
class GatedBlock : public nn::Module {
 public:
  GatedBlock(int64_t dim, int64_t mlp_ratio, Generator& gen);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<nn::BatchNorm2d> norm1_, norm2_;
  std::shared_ptr<nn::Conv2d> dw5_, dw7_, pw_, proj_, fc1_, fc2_;
};

class SimVP : public Forecaster {
 public:
  SimVP(const ModelConfig& cfg, Generator& gen);
  ModelOutput forward(const Tensor& x) override;

 private:
  std::shared_ptr<FrameEncoder> enc_;
  std::shared_ptr<nn::Conv2d> in_, out_;
  std::vector<std::shared_ptr<GatedBlock>> blocks_;
  std::shared_ptr<FrameDecoder> dec_;
};

// Shared by both teachers: shape rules, and the output assembly (decode, residual).
void check_teacher_config(const ModelConfig& cfg);
Tensor decode_frames(const ModelConfig& cfg, FrameDecoder& dec, const Tensor& latent, const Tensor& skip,
                     const Tensor& x);

}  // namespace sdkd::models
