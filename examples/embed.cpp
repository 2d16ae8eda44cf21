// Embedding the engine: fit y = 3x - 1 with a Linear layer, Adam and autograd, using only the
// public headers. Exits non-zero if the fit is wrong, so CI running it is a real check.
#include <cmath>
#include <cstdio>

#include <sdkd/sdkd.hpp>

int main() {
  sdkd::Generator gen(42);
  sdkd::nn::Linear layer(1, 1, gen);
  sdkd::optim::Adam opt(layer.named_parameters(), {.lr = 0.05});
  const sdkd::Tensor x = sdkd::Tensor::randn({64, 1}, gen);
  const sdkd::Tensor y = sdkd::add_scalar(sdkd::mul_scalar(x, 3.0), -1.0);
  double loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    sdkd::Tensor loss = sdkd::mse_loss(layer.forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  const double w = layer.weight.item(), b = layer.bias.item();
  std::printf("fitted y = %.4f x + %.4f (loss %.2e)\n", w, b, loss_value);
  return std::fabs(w - 3) < 1e-2 && std::fabs(b + 1) < 1e-2 ? 0 : 1;
}
