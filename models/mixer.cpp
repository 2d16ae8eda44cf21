#include "sdkd/models/mixer.hpp"

#include <algorithm>

#include "sdkd/error.hpp"

namespace sdkd::models {

constexpr int64_t kPatch = 4;

MixerBlock::MixerBlock(int64_t tokens, int64_t dim, int64_t token_hidden, int64_t channel_hidden, Generator& gen) {
  norm1_ = register_module("norm1", std::make_shared<nn::LayerNorm>(dim));
  tok1_ = register_module("token_fc1", std::make_shared<nn::Linear>(tokens, token_hidden, gen));
  tok2_ = register_module("token_fc2", std::make_shared<nn::Linear>(token_hidden, tokens, gen));
  norm2_ = register_module("norm2", std::make_shared<nn::LayerNorm>(dim));
  ch1_ = register_module("channel_fc1", std::make_shared<nn::Linear>(dim, channel_hidden, gen));
  ch2_ = register_module("channel_fc2", std::make_shared<nn::Linear>(channel_hidden, dim, gen));
}

Tensor MixerBlock::forward(const Tensor& x) {
  // Token mixing acts along N: transpose so N is the last (linear) axis, and back.
  const Tensor t = norm1_->forward(x).transpose(1, 2);
  const Tensor h = add(x, tok2_->forward(gelu(tok1_->forward(t))).transpose(1, 2));
  return add(h, ch2_->forward(gelu(ch1_->forward(norm2_->forward(h)))));
}

Mixer::Mixer(const ModelConfig& cfg, Generator& gen) : Forecaster(cfg) {
  SDKD_CHECK(cfg.height % kPatch == 0 && cfg.width % kPatch == 0, "mixer: height and width must be divisible by 4 ",
             "(4x4 patches), got ", cfg.height, "x", cfg.width);
  SDKD_CHECK(cfg.blocks >= 1 && cfg.mlp_ratio >= 1, "mixer: blocks and mlp_ratio must be >= 1");
  const int64_t dim = 4 * cfg.hidden, tokens = (cfg.height / kPatch) * (cfg.width / kPatch);
  const int64_t patch_in = kPatch * kPatch * cfg.in_frames * cfg.channels;
  const int64_t patch_out = kPatch * kPatch * cfg.out_frames * cfg.channels;
  embed_ = register_module("embed", std::make_shared<nn::Linear>(patch_in, dim, gen));
  for (int64_t i = 0; i < cfg.blocks; ++i)
    blocks_.push_back(register_module(
        str_cat("blocks.", i),
        std::make_shared<MixerBlock>(tokens, dim, std::max<int64_t>(1, dim / 2), cfg.mlp_ratio * dim, gen)));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(dim));
  head_ = register_module("head", std::make_shared<nn::Linear>(dim, patch_out, gen));
}

ModelOutput Mixer::forward(const Tensor& x) {
  check_input(x);
  const int64_t B = x.size(0), H = cfg_.height, W = cfg_.width, h = H / kPatch, w = W / kPatch;
  const int64_t cin = cfg_.in_frames * cfg_.channels, cout = cfg_.out_frames * cfg_.channels;
  // (B, cin, h, 4, w, 4) -> (B, h, w, cin, 4, 4): a token is one patch, features (c, py, px).
  const Tensor patches =
      x.reshape({B, cin, h, kPatch, w, kPatch}).permute({0, 2, 4, 1, 3, 5}).reshape({B, h * w, cin * kPatch * kPatch});
  Tensor t = embed_->forward(patches);
  for (auto& b : blocks_) t = b->forward(t);
  const Tensor latent = t.transpose(1, 2).reshape({B, t.size(2), h, w});
  const Tensor out = head_->forward(norm_->forward(t));  // (B, N, cout * 16)
  Tensor y = out.reshape({B, h, w, cout, kPatch, kPatch})
                 .permute({0, 3, 1, 4, 2, 5})
                 .reshape({B, cfg_.out_frames, cfg_.channels, H, W});
  if (cfg_.residual) y = add(y, x.slice(1, cfg_.in_frames - 1, cfg_.in_frames));
  return {y, {{"latent", latent}}};
}

}  // namespace sdkd::models
