#pragma once
// Teacher T1, ST-AlterNet (SPEC §2): the SimVP encoder/decoder (models/encoder.hpp) around a
// latent-evolution module that treats high and low frequencies apart. Like SimVP's translator
// (ours): 1x1 conv T*hid_S -> hid_T, N_T AlterBlocks at width hid_T, 1x1 conv back. Feature taps
// "encoder" (before) and "latent" (after), both (B, T*hid_S, H/4, W/4).
#include <vector>

#include "sdkd/models/latent_teacher.hpp"

namespace sdkd::models {

// Two parallel branches on the same input Z (B, dim, h, w):
//   high frequency Z_h = GELU(depthwise3x3(conv3x3(Z)))   (local, sharp detail)
//   low frequency  Z_l = out(MHSA(q(t), k(t), v(t))), t = tokens(Z) + positional embedding,
//                  tokens = the h*w positions, features = channels   (global, smooth)
// fused as U = Z + LayerNorm(Z_h + Z_l) (over channels), then U + MLP(LayerNorm(U)) with a
// linear-GELU-linear MLP of width mlp_ratio * dim. The pre-norm before the MLP is ours (the
// usual Transformer placement; it keeps the MLP's input scale fixed as blocks stack).
class AlterBlock : public TranslatorBlock {
 public:
  AlterBlock(int64_t dim, int64_t heads, int64_t positions, int64_t mlp_ratio, Generator& gen);
  Tensor forward(const Tensor& z) override;

 private:
  int64_t heads_;
  std::shared_ptr<nn::Conv2d> conv_, dw_;
  Tensor pos_;
  std::shared_ptr<nn::Linear> q_, k_, v_, o_, fc1_, fc2_;
  std::shared_ptr<nn::LayerNorm> fuse_norm_, mlp_norm_;
};

class AlterNet : public LatentTeacher {
 public:
  AlterNet(const ModelConfig& cfg, Generator& gen);
};

}  // namespace sdkd::models
