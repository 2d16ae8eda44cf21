#include "models/alternet.hpp"

#include "models/simvp.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops_nn.hpp"

namespace sdkd::models {

namespace {
// (B, C, h, w) <-> (B, h*w, C): positions become tokens, channels their features.
Tensor to_tokens(const Tensor& z) { return z.reshape({z.size(0), z.size(1), z.size(2) * z.size(3)}).transpose(1, 2); }
Tensor from_tokens(const Tensor& t, int64_t h, int64_t w) {
  return t.transpose(1, 2).reshape({t.size(0), t.size(2), h, w});
}
// (B, N, heads*d) <-> (B, heads, N, d)
Tensor split_heads(const Tensor& t, int64_t heads) {
  return t.reshape({t.size(0), t.size(1), heads, t.size(2) / heads}).permute({0, 2, 1, 3});
}
Tensor merge_heads(const Tensor& t) {
  return t.permute({0, 2, 1, 3}).reshape({t.size(0), t.size(2), t.size(1) * t.size(3)});
}
}  // namespace

AlterBlock::AlterBlock(int64_t dim, int64_t heads, int64_t positions, int64_t mlp_ratio, Generator& gen)
    : heads_(heads) {
  SDKD_CHECK(heads >= 1 && dim % heads == 0, "alternet: hid_T (", dim, ") must be divisible by heads (", heads, ")");
  conv_ = register_module("conv", std::make_shared<nn::Conv2d>(dim, dim, 3, gen));
  dw_ = register_module("dwconv", std::make_shared<nn::Conv2d>(dim, dim, 3, gen, 1, -1, 1, int(dim)));
  // Learned positional embedding, N(0, 0.02^2) as ViT's; one per latent position.
  pos_ = register_parameter("pos_embed", mul_scalar(Tensor::randn({positions, dim}, gen), 0.02));
  q_ = register_module("q", std::make_shared<nn::Linear>(dim, dim, gen));
  k_ = register_module("k", std::make_shared<nn::Linear>(dim, dim, gen));
  v_ = register_module("v", std::make_shared<nn::Linear>(dim, dim, gen));
  o_ = register_module("out", std::make_shared<nn::Linear>(dim, dim, gen));
  fuse_norm_ = register_module("fuse_norm", std::make_shared<nn::LayerNorm>(dim));
  mlp_norm_ = register_module("mlp_norm", std::make_shared<nn::LayerNorm>(dim));
  fc1_ = register_module("fc1", std::make_shared<nn::Linear>(dim, mlp_ratio * dim, gen));
  fc2_ = register_module("fc2", std::make_shared<nn::Linear>(mlp_ratio * dim, dim, gen));
}

Tensor AlterBlock::forward(const Tensor& z) {
  const int64_t h = z.size(2), w = z.size(3);
  const Tensor zh = gelu(dw_->forward(conv_->forward(z)));
  const Tensor tokens = to_tokens(z);
  const Tensor t = add(tokens, pos_);
  const Tensor attn = multi_head_attention(split_heads(q_->forward(t), heads_), split_heads(k_->forward(t), heads_),
                                           split_heads(v_->forward(t), heads_));
  const Tensor zl = o_->forward(merge_heads(attn));
  const Tensor u = add(tokens, fuse_norm_->forward(add(to_tokens(zh), zl)));
  const Tensor out = add(u, fc2_->forward(gelu(fc1_->forward(mlp_norm_->forward(u)))));
  return from_tokens(out, h, w);
}

AlterNet::AlterNet(const ModelConfig& cfg, Generator& gen) : Forecaster(cfg) {
  check_teacher_config(cfg);
  const int64_t lat = cfg.in_frames * cfg.hid_S, positions = (cfg.height / 4) * (cfg.width / 4);
  enc_ = register_module("enc", std::make_shared<FrameEncoder>(cfg.channels, cfg.hid_S, cfg.N_S, gen));
  in_ = register_module("hid.in", std::make_shared<nn::Conv2d>(lat, cfg.hid_T, 1, gen));
  for (int64_t i = 0; i < cfg.N_T; ++i)
    blocks_.push_back(register_module(
        str_cat("hid.blocks.", i), std::make_shared<AlterBlock>(cfg.hid_T, cfg.heads, positions, cfg.mlp_ratio, gen)));
  out_ = register_module("hid.out", std::make_shared<nn::Conv2d>(cfg.hid_T, lat, 1, gen));
  dec_ = register_module("dec", std::make_shared<FrameDecoder>(cfg.hid_S, cfg.channels, cfg.N_S, gen));
}

ModelOutput AlterNet::forward(const Tensor& x) {
  check_input(x);
  const int64_t B = x.size(0), T = cfg_.in_frames;
  const EncodedFrames e = enc_->forward(x.reshape({B * T, cfg_.channels, cfg_.height, cfg_.width}));
  const Tensor z = e.latent.reshape({B, T * cfg_.hid_S, e.latent.size(2), e.latent.size(3)});
  Tensor h = in_->forward(z);
  for (auto& b : blocks_) h = b->forward(h);
  const Tensor latent = out_->forward(h);
  return {decode_frames(cfg_, *dec_, latent, e.skip, x), {{"encoder", z}, {"latent", latent}}};
}

}  // namespace sdkd::models
