#include "sdkd/models/unet.hpp"

#include "sdkd/error.hpp"

namespace sdkd::models {

UNet::UNet(const ModelConfig& cfg, Generator& gen) : Forecaster(cfg) {
  SDKD_CHECK(cfg.height % 4 == 0 && cfg.width % 4 == 0, "unet: height and width must be divisible by 4, got ",
             cfg.height, "x", cfg.width);
  const int64_t cin = cfg.in_frames * cfg.channels, cout = cfg.out_frames * cfg.channels;
  const int64_t w = cfg.hidden;
  inc_ = register_module("inc", std::make_shared<ConvBNAct>(cin, w, gen));
  down1_ = register_module("down1", std::make_shared<ConvBNAct>(w, 2 * w, gen, 2));
  conv1_ = register_module("conv1", std::make_shared<ConvBNAct>(2 * w, 2 * w, gen));
  down2_ = register_module("down2", std::make_shared<ConvBNAct>(2 * w, 4 * w, gen, 2));
  conv2_ = register_module("conv2", std::make_shared<ConvBNAct>(4 * w, 4 * w, gen));
  mid_ = register_module("mid", std::make_shared<ConvBNAct>(4 * w, 4 * w, gen));
  up1_ = register_module("up1", std::make_shared<UpBNAct>(4 * w, 2 * w, gen));
  dec1_ = register_module("dec1", std::make_shared<ConvBNAct>(4 * w, 2 * w, gen));
  up2_ = register_module("up2", std::make_shared<UpBNAct>(2 * w, w, gen));
  dec2_ = register_module("dec2", std::make_shared<ConvBNAct>(2 * w, w, gen));
  out_ = register_module("out", std::make_shared<nn::Conv2d>(w, cout, 1, gen));
}

ModelOutput UNet::forward(const Tensor& x) {
  check_input(x);
  const int64_t B = x.size(0), H = cfg_.height, W = cfg_.width;
  const Tensor folded = x.reshape({B, cfg_.in_frames * cfg_.channels, H, W});
  const Tensor s0 = inc_->forward(folded);                      // (B, w, H, W)
  const Tensor s1 = conv1_->forward(down1_->forward(s0));       // (B, 2w, H/2, W/2)
  const Tensor e2 = conv2_->forward(down2_->forward(s1));       // (B, 4w, H/4, W/4)
  const Tensor latent = mid_->forward(e2);                      // bottleneck feature tap
  const Tensor d1 = dec1_->forward(cat({up1_->forward(latent), s1}, 1));  // (B, 2w, H/2, W/2)
  const Tensor d0 = dec2_->forward(cat({up2_->forward(d1), s0}, 1));
  Tensor y = out_->forward(d0).reshape({B, cfg_.out_frames, cfg_.channels, H, W});
  if (cfg_.residual) {
    // Predict the change from the last observed frame (persistence + learned correction).
    const Tensor last = x.slice(1, cfg_.in_frames - 1, cfg_.in_frames);
    y = add(y, last);
  }
  return {y, {{"encoder", e2}, {"latent", latent}, {"decoder", d1}}};
}

}  // namespace sdkd::models
