#include "sdkd/models/alternet.hpp"

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

AlterNet::AlterNet(const ModelConfig& cfg, Generator& gen)
    : LatentTeacher(cfg, gen, [](const ModelConfig& c, Generator& g) {
        return std::make_shared<AlterBlock>(c.hid_T, c.heads, (c.height / 4) * (c.width / 4), c.mlp_ratio, g);
      }) {}

}  // namespace sdkd::models
