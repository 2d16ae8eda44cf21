#pragma once
// Building blocks shared by the models.
#include "sdkd/nn.hpp"

namespace sdkd::models {

// conv k3 (stride s) -> BatchNorm -> LeakyReLU(0.1): the U-Net student's unit (SPEC §2).
class ConvBNAct : public nn::Module {
 public:
  ConvBNAct(int64_t in, int64_t out, Generator& gen, int stride = 1);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<nn::Conv2d> conv_;
  std::shared_ptr<nn::BatchNorm2d> bn_;
};

// ConvTranspose k4 s2 p1 (doubles H and W) -> BatchNorm -> LeakyReLU(0.1).
class UpBNAct : public nn::Module {
 public:
  UpBNAct(int64_t in, int64_t out, Generator& gen);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<nn::ConvTranspose2d> up_;
  std::shared_ptr<nn::BatchNorm2d> bn_;
};

}  // namespace sdkd::models
