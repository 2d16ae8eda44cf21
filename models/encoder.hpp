#pragma once
// The teachers' per-frame conv encoder E and deconv decoder D (SimVP-style, SPEC §2).
// E: N_S blocks of 3x3 conv -> GroupNorm(2) -> SiLU; blocks 1 and N_S-1 have stride 2, so
// H -> H/4 with exactly two downsamplings whatever N_S (>= 3, so block 0 stays at full
// resolution and can feed the skip). D mirrors E: a ConvTranspose k4 s2 p1 block where E
// strided, a 3x3 conv block elsewhere; its last block sees latent + skip (the first encoder
// block's output, summed as in SimVP v2), then a 1x1 readout conv.
// Both work on frames folded into the batch: (B*T, C, H, W).
#include <vector>

#include "sdkd/nn.hpp"

namespace sdkd::models {

// Whether teacher block i of n (encoder order) changes resolution.
bool teacher_block_strided(int64_t i, int64_t n);

// 3x3 conv (stride 1 or 2) or ConvTranspose k4 s2 p1 (up = true), then GroupNorm(2), SiLU.
class ConvGNAct : public nn::Module {
 public:
  ConvGNAct(int64_t in, int64_t out, Generator& gen, int stride = 1, bool up = false);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<nn::Conv2d> conv_;
  std::shared_ptr<nn::ConvTranspose2d> up_;
  std::shared_ptr<nn::GroupNorm> gn_;
};

struct EncodedFrames {
  Tensor latent;  // (B*T, hid, H/4, W/4)
  Tensor skip;    // (B*T, hid, H, W): the first block's output
};

class FrameEncoder : public nn::Module {
 public:
  FrameEncoder(int64_t in_channels, int64_t hid, int64_t n_blocks, Generator& gen);
  EncodedFrames forward(const Tensor& frames);

 private:
  std::vector<std::shared_ptr<ConvGNAct>> blocks_;
};

struct DecodedFrames {
  Tensor frames;  // (B*T, out_channels, H, W)
  Tensor half;    // (B*T, hid, H/2, W/2): the last block's output at half resolution (the "decoder" tap)
};

class FrameDecoder : public nn::Module {
 public:
  FrameDecoder(int64_t hid, int64_t out_channels, int64_t n_blocks, Generator& gen);
  // latent (B*T, hid, H/4, W/4), skip (B*T, hid, H, W)
  DecodedFrames forward(const Tensor& latent, const Tensor& skip);

 private:
  std::vector<std::shared_ptr<ConvGNAct>> blocks_;
  std::shared_ptr<nn::Conv2d> readout_;
};

}  // namespace sdkd::models
