// Example (a): a model of your own, defined with the API, trained on generated Navier-Stokes
// data, saved and reloaded.
//
//   sdkd_example_train_model [out_dir]
//
// Generates 24 small vorticity trajectories with sdkd's solver, trains a three-layer conv net
// to map 4 frames to the next 4 with Adam, checkpoints it (weights and optimizer moments) and
// loads the checkpoint into a fresh model. Exits non-zero unless training beat the persistence
// forecast on held-out trajectories and the reloaded model forecasts bit for bit the same.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <sdkd/datasets/navier_stokes.hpp>
#include <sdkd/sdkd.hpp>

using namespace sdkd;

namespace {

// The last of x's frames (B, T, H, W), n times: (B, n, H, W). The persistence forecast.
Tensor repeat_last_frame(const Tensor& x, int64_t n) {
  const int64_t t = x.size(1);
  return cat(std::vector<Tensor>(size_t(n), x.slice(1, t - 1, t)), 1);
}

// Frames stacked in channels, two GELU conv layers and a conv to the output frames, added to
// the last input frame: the net learns the change, as sdkd's own students do.
class ConvForecaster : public nn::Module {
 public:
  ConvForecaster(int64_t in_frames, int64_t out_frames, int64_t width, Generator& gen) {
    c1_ = register_module("c1", std::make_shared<nn::Conv2d>(in_frames, width, 3, gen));
    c2_ = register_module("c2", std::make_shared<nn::Conv2d>(width, width, 3, gen));
    c3_ = register_module("c3", std::make_shared<nn::Conv2d>(width, out_frames, 3, gen));
  }
  // x (B, T_in, H, W) -> (B, T_out, H, W)
  Tensor forward(const Tensor& x) const {
    const Tensor change = c3_->forward(gelu(c2_->forward(gelu(c1_->forward(x)))));
    return add(change, repeat_last_frame(x, change.size(1)));
  }

 private:
  std::shared_ptr<nn::Conv2d> c1_, c2_, c3_;
};

}  // namespace

int main(int argc, char** argv) try {
  const std::filesystem::path out = argc > 1 ? argv[1] : "sdkd_example_train_model";
  std::filesystem::create_directories(out);

  // 24 trajectories of 8 frames on a 32^2 grid: the "smoke" preset of `sdkd generate`, shorter.
  data::NSConfig ns = data::ns_preset("smoke");
  ns.trajectories = 24;
  ns.frames = 8;
  std::vector<float> frames(size_t(ns.trajectories * ns.frames * ns.resolution * ns.resolution));
  const auto t0 = std::chrono::steady_clock::now();
  data::generate_ns(ns, frames.data());
  std::printf("generated %lld trajectories of %lld frames at %lld^2 in %.1f s\n", (long long)ns.trajectories,
              (long long)ns.frames, (long long)ns.resolution,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const Tensor all = Tensor::from_vector(frames, {ns.trajectories, ns.frames, ns.resolution, ns.resolution});
  // Frames 0-3 in, 4-7 out; the first 20 trajectories train, the last 4 are held out.
  const Tensor train = all.slice(0, 0, 20), test = all.slice(0, 20, 24);
  const Tensor x_train = train.slice(1, 0, 4), y_train = train.slice(1, 4, 8);
  const Tensor x_test = test.slice(1, 0, 4), y_test = test.slice(1, 4, 8);

  Generator gen(0);
  ConvForecaster model(4, 4, 16, gen);
  optim::Adam opt(model.named_parameters(), {.lr = 2e-3});
  const double persistence = mse_loss(repeat_last_frame(x_test, 4), y_test).item();
  for (int step = 0; step < 300; ++step) {
    Tensor loss = mse_loss(model.forward(x_train), y_train);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 100 == 0) std::printf("step %3d  train mse %.5f\n", step, loss.item());
  }
  model.eval();
  Tensor pred;
  {
    NoGradGuard ng;
    pred = model.forward(x_test);
  }
  const double test_mse = mse_loss(pred, y_test).item();
  std::printf("held-out mse %.5f, persistence %.5f (%.1f %% lower)\n", test_mse, persistence,
              100 * (1 - test_mse / persistence));

  // Weights, optimizer moments and free-form metadata in one safetensors file, then a fresh
  // model (other initial weights) restored from it.
  const std::string ckpt = (out / "model.safetensors").string();
  save_checkpoint(ckpt, model, &opt, {{"steps", std::to_string(opt.steps())}});
  Generator other(7);
  ConvForecaster restored(4, 4, 16, other);
  optim::Adam restored_opt(restored.named_parameters(), {.lr = 2e-3});
  const Metadata meta = load_checkpoint(ckpt, restored, &restored_opt);
  restored.eval();
  Tensor again;
  {
    NoGradGuard ng;
    again = restored.forward(x_test);
  }
  const bool same = pred.to_float_vector() == again.to_float_vector();
  std::printf("reloaded %s (steps %s): forecasts %s\n", ckpt.c_str(), meta.at("steps").c_str(),
              same ? "identical" : "DIFFERENT");
  return same && test_mse < persistence && restored_opt.steps() == opt.steps() ? 0 : 1;
} catch (const sdkd::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
