#include "sdkd/models/latent_teacher.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

namespace {

void check_teacher_config(const ModelConfig& cfg) {
  SDKD_CHECK(cfg.height % 4 == 0 && cfg.width % 4 == 0, cfg.name, ": height and width must be divisible by 4, got ",
             cfg.height, "x", cfg.width);
  SDKD_CHECK(cfg.in_frames == cfg.out_frames, cfg.name, ": in_frames (", cfg.in_frames, ") must equal out_frames (",
             cfg.out_frames, "): the decoder pairs output frame t with input frame t's skip");
  SDKD_CHECK(cfg.hid_T >= 1 && cfg.N_T >= 1 && cfg.mlp_ratio >= 1, cfg.name,
             ": hid_T, N_T and mlp_ratio must be >= 1");
}

}  // namespace

LatentTeacher::LatentTeacher(const ModelConfig& cfg, Generator& gen, const BlockFactory& make_block)
    : Forecaster(cfg) {
  check_teacher_config(cfg);
  const int64_t lat = cfg.in_frames * cfg.hid_S;
  enc_ = register_module("enc", std::make_shared<FrameEncoder>(cfg.channels, cfg.hid_S, cfg.N_S, gen));
  in_ = register_module("hid.in", std::make_shared<nn::Conv2d>(lat, cfg.hid_T, 1, gen));
  for (int64_t i = 0; i < cfg.N_T; ++i) blocks_.push_back(register_module(str_cat("hid.blocks.", i), make_block(cfg, gen)));
  out_ = register_module("hid.out", std::make_shared<nn::Conv2d>(cfg.hid_T, lat, 1, gen));
  dec_ = register_module("dec", std::make_shared<FrameDecoder>(cfg.hid_S, cfg.channels, cfg.N_S, gen));
}

ModelOutput LatentTeacher::forward(const Tensor& x) {
  check_input(x);
  const int64_t B = x.size(0), T = cfg_.in_frames;
  const EncodedFrames e = enc_->forward(x.reshape({B * T, cfg_.channels, cfg_.height, cfg_.width}));
  const Tensor z = e.latent.reshape({B, T * cfg_.hid_S, e.latent.size(2), e.latent.size(3)});
  Tensor h = in_->forward(z);
  for (auto& b : blocks_) h = b->forward(h);
  const Tensor latent = out_->forward(h);
  const int64_t hh = latent.size(2), ww = latent.size(3);
  const DecodedFrames d = dec_->forward(latent.reshape({B * T, cfg_.hid_S, hh, ww}), e.skip);
  // Frames back in channels, as for Z: (B*T, hid_S, H/2, W/2) -> (B, T*hid_S, H/2, W/2).
  const Tensor decoder = d.half.reshape({B, T * cfg_.hid_S, d.half.size(2), d.half.size(3)});
  Tensor y = d.frames.reshape({B, cfg_.out_frames, cfg_.channels, cfg_.height, cfg_.width});
  if (cfg_.residual) y = add(y, x.slice(1, cfg_.in_frames - 1, cfg_.in_frames));  // as the students (ours)
  return {y, {{"encoder", z}, {"latent", latent}, {"decoder", decoder}}};
}

}  // namespace sdkd::models
