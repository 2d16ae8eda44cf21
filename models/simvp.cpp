#include "models/simvp.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

GatedBlock::GatedBlock(int64_t dim, int64_t mlp_ratio, Generator& gen) {
  const int g = int(dim);
  norm1_ = register_module("norm1", std::make_shared<nn::BatchNorm2d>(dim));
  dw5_ = register_module("dw5", std::make_shared<nn::Conv2d>(dim, dim, 5, gen, 1, -1, 1, g));
  dw7_ = register_module("dw7", std::make_shared<nn::Conv2d>(dim, dim, 7, gen, 1, -1, 3, g));
  pw_ = register_module("pw", std::make_shared<nn::Conv2d>(dim, dim, 1, gen));
  proj_ = register_module("proj", std::make_shared<nn::Conv2d>(dim, dim, 1, gen));
  norm2_ = register_module("norm2", std::make_shared<nn::BatchNorm2d>(dim));
  fc1_ = register_module("fc1", std::make_shared<nn::Conv2d>(dim, mlp_ratio * dim, 1, gen));
  fc2_ = register_module("fc2", std::make_shared<nn::Conv2d>(mlp_ratio * dim, dim, 1, gen));
}

Tensor GatedBlock::forward(const Tensor& x) {
  const Tensor u = norm1_->forward(x);
  const Tensor attn = pw_->forward(dw7_->forward(dw5_->forward(u)));
  const Tensor h = add(x, proj_->forward(mul(attn, u)));
  return add(h, fc2_->forward(gelu(fc1_->forward(norm2_->forward(h)))));
}

void check_teacher_config(const ModelConfig& cfg) {
  SDKD_CHECK(cfg.height % 4 == 0 && cfg.width % 4 == 0, cfg.name, ": height and width must be divisible by 4, got ",
             cfg.height, "x", cfg.width);
  SDKD_CHECK(cfg.in_frames == cfg.out_frames, cfg.name, ": in_frames (", cfg.in_frames, ") must equal out_frames (",
             cfg.out_frames, "): the decoder pairs output frame t with input frame t's skip");
  SDKD_CHECK(cfg.hid_T >= 1 && cfg.N_T >= 1 && cfg.mlp_ratio >= 1, cfg.name,
             ": hid_T, N_T and mlp_ratio must be >= 1");
}

Tensor decode_frames(const ModelConfig& cfg, FrameDecoder& dec, const Tensor& latent, const Tensor& skip,
                     const Tensor& x) {
  const int64_t B = latent.size(0), T = cfg.out_frames, h = latent.size(2), w = latent.size(3);
  const Tensor frames = dec.forward(latent.reshape({B * T, latent.size(1) / T, h, w}), skip);
  Tensor y = frames.reshape({B, T, cfg.channels, cfg.height, cfg.width});
  if (cfg.residual) y = add(y, x.slice(1, cfg.in_frames - 1, cfg.in_frames));  // as the students (ours)
  return y;
}

SimVP::SimVP(const ModelConfig& cfg, Generator& gen) : Forecaster(cfg) {
  check_teacher_config(cfg);
  const int64_t lat = cfg.in_frames * cfg.hid_S;
  enc_ = register_module("enc", std::make_shared<FrameEncoder>(cfg.channels, cfg.hid_S, cfg.N_S, gen));
  in_ = register_module("hid.in", std::make_shared<nn::Conv2d>(lat, cfg.hid_T, 1, gen));
  for (int64_t i = 0; i < cfg.N_T; ++i)
    blocks_.push_back(
        register_module(str_cat("hid.blocks.", i), std::make_shared<GatedBlock>(cfg.hid_T, cfg.mlp_ratio, gen)));
  out_ = register_module("hid.out", std::make_shared<nn::Conv2d>(cfg.hid_T, lat, 1, gen));
  dec_ = register_module("dec", std::make_shared<FrameDecoder>(cfg.hid_S, cfg.channels, cfg.N_S, gen));
}

ModelOutput SimVP::forward(const Tensor& x) {
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
