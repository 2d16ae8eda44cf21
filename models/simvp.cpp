#include "sdkd/models/simvp.hpp"

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

SimVP::SimVP(const ModelConfig& cfg, Generator& gen)
    : LatentTeacher(cfg, gen, [](const ModelConfig& c, Generator& g) {
        return std::make_shared<GatedBlock>(c.hid_T, c.mlp_ratio, g);
      }) {}

}  // namespace sdkd::models
