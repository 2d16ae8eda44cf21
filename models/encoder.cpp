#include "sdkd/models/encoder.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

bool teacher_block_strided(int64_t i, int64_t n) { return i == 1 || i == n - 1; }

ConvGNAct::ConvGNAct(int64_t in, int64_t out, Generator& gen, int stride, bool up) {
  // Convs keep their bias: GroupNorm(2) normalises groups of channels, not each channel, so a
  // per-channel bias is not redundant as it is before BatchNorm.
  if (up)
    up_ = register_module("conv", std::make_shared<nn::ConvTranspose2d>(in, out, 4, gen, 2, 1));
  else
    conv_ = register_module("conv", std::make_shared<nn::Conv2d>(in, out, 3, gen, stride));
  gn_ = register_module("norm", std::make_shared<nn::GroupNorm>(2, out));
}

Tensor ConvGNAct::forward(const Tensor& x) { return silu(gn_->forward(up_ ? up_->forward(x) : conv_->forward(x))); }

FrameEncoder::FrameEncoder(int64_t in_channels, int64_t hid, int64_t n_blocks, Generator& gen) {
  SDKD_CHECK(n_blocks >= 3, "teacher encoder: N_S must be >= 3 (two stride-2 blocks after a full-resolution one), got ",
             n_blocks);
  SDKD_CHECK(hid >= 2 && hid % 2 == 0, "teacher encoder: hid_S must be even (GroupNorm with 2 groups), got ", hid);
  for (int64_t i = 0; i < n_blocks; ++i)
    blocks_.push_back(register_module(str_cat("blocks.", i),
                                      std::make_shared<ConvGNAct>(i == 0 ? in_channels : hid, hid, gen,
                                                                  teacher_block_strided(i, n_blocks) ? 2 : 1)));
}

EncodedFrames FrameEncoder::forward(const Tensor& frames) {
  const Tensor skip = blocks_[0]->forward(frames);
  Tensor z = skip;
  for (size_t i = 1; i < blocks_.size(); ++i) z = blocks_[i]->forward(z);
  return {z, skip};
}

FrameDecoder::FrameDecoder(int64_t hid, int64_t out_channels, int64_t n_blocks, Generator& gen) {
  for (int64_t j = 0; j < n_blocks; ++j) {
    const bool up = teacher_block_strided(n_blocks - 1 - j, n_blocks);  // mirror of encoder block
    blocks_.push_back(register_module(str_cat("blocks.", j), std::make_shared<ConvGNAct>(hid, hid, gen, 1, up)));
  }
  readout_ = register_module("readout", std::make_shared<nn::Conv2d>(hid, out_channels, 1, gen));
}

DecodedFrames FrameDecoder::forward(const Tensor& latent, const Tensor& skip) {
  Tensor z = latent, half;
  for (size_t j = 0; j + 1 < blocks_.size(); ++j) {
    z = blocks_[j]->forward(z);
    // Exactly two blocks upsample, so some block's output is at half resolution whatever N_S.
    if (2 * z.size(2) == skip.size(2)) half = z;
  }
  SDKD_CHECK(z.shape() == skip.shape(), "teacher decoder: upsampled latent ", shape_str(z.shape()),
             " does not match the skip ", shape_str(skip.shape()));
  return {readout_->forward(blocks_.back()->forward(add(z, skip))), half};
}

}  // namespace sdkd::models
