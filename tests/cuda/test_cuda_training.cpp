// The training pieces on the GPU against the CPU: fused multi-tensor Adam/AdamW, the gradient
// norm and clipping, Module::to(Device) with checkpoints, CUDA-graph capture/replay, and a
// whole training run (same seed, CPU vs GPU, and GPU run-to-run in deterministic mode).
#include "common/toy.hpp"
#include "cuda_test.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/cuda_graph.hpp"
#include "sdkd/error.hpp"
#include "sdkd/nn.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/train/trainer.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

// Two parameter sets with equal values, one per device, and equal gradients attached.
struct Twin {
  std::vector<std::pair<std::string, Tensor>> cpu, gpu;
};

Twin twin_params(const std::vector<Shape>& shapes, uint64_t seed) {
  Twin t;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Tensor w = cpu_randn(shapes[i], seed + i);
    Tensor c = w.clone().detach().set_requires_grad(true);
    Tensor g = w.to(kCuda).detach().set_requires_grad(true);
    const std::string name = str_cat("p", i);  // (GCC 12 warns falsely on "p" + to_string)
    t.cpu.emplace_back(name, c);
    t.gpu.emplace_back(name, g);
  }
  return t;
}

void set_grads(Twin& t, uint64_t seed) {
  for (size_t i = 0; i < t.cpu.size(); ++i) {
    const Tensor g = cpu_randn(t.cpu[i].second.shape(), seed * 100 + i, 0.5);
    t.cpu[i].second.set_grad(g.clone());
    t.gpu[i].second.set_grad(g.to(kCuda));
  }
}

}  // namespace

TEST_CASE("fused Adam and AdamW on the GPU follow the CPU loop over many steps", "[cuda][optim]") {
  SDKD_CUDA_OR_SKIP();
  for (bool decoupled : {false, true}) {
    // 60 tensors: more than one multi-tensor launch (48 per launch), sizes 1 .. ~70k.
    std::vector<Shape> shapes;
    for (int i = 0; i < 60; ++i) shapes.push_back({1 + (i * 977) % 70001});
    Twin t = twin_params(shapes, 5);
    optim::AdamOptions o;
    o.lr = 3e-3;
    o.weight_decay = 0.01;
    o.decoupled = decoupled;
    optim::Adam oc(t.cpu, o), og(t.gpu, o);
    for (int step = 0; step < 10; ++step) {
      set_grads(t, uint64_t(step));
      oc.step();
      og.step();
    }
    // Same float formula; the compilers may contract different multiply-adds into FMAs, which
    // moves most elements by a few ulp. Where g + wd * w cancels to the size of eps (it does,
    // by chance, among ~2M elements), Adam's normalised step m / (sqrt(v) + eps) turns that
    // last-bit difference into up to ~3e-5 (measured in a host emulation of the kernel with
    // the GPU's fusing): hence atol 1e-4, still 30x below one step of size lr.
    for (size_t i = 0; i < shapes.size(); ++i)
      CHECK_CLOSE(t.gpu[i].second, t.cpu[i].second, 1e-5, 1e-4, "Adam parameter " + t.cpu[i].first);
    const auto sc = oc.state_dict(), sg = og.state_dict();
    CHECK_CLOSE(sg.at("p7.exp_avg_sq"), sc.at("p7.exp_avg_sq"), 1e-5, 1e-9, "second moment");
  }
}

TEST_CASE("gradient norm and clipping on the GPU match the CPU and are deterministic", "[cuda][optim]") {
  SDKD_CUDA_OR_SKIP();
  Twin t = twin_params({{3}, {1000, 37}, {1}, {65537}}, 9);
  set_grads(t, 3);
  std::vector<Tensor> pc, pg;
  for (auto& [n, p] : t.cpu) pc.push_back(p);
  for (auto& [n, p] : t.gpu) pg.push_back(p);
  const double nc = optim::grad_norm(pc), ng = optim::grad_norm(pg);
  CHECK(ng == Approx(nc).epsilon(1e-12));  // both accumulate squares of the same floats in double
  REQUIRE(optim::grad_norm(pg) == ng);     // fixed-order partial sums: bitwise repeatable
  optim::clip_grad_norm(pc, 1.0);
  optim::clip_grad_norm(pg, 1.0);
  for (size_t i = 0; i < pc.size(); ++i) CHECK_CLOSE(pg[i].grad(), pc[i].grad(), 1e-6, 1e-9, "clipped gradient");
  CHECK(optim::grad_norm(pg) == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("Module::to(cuda) moves parameters in place, checkpoints round-trip through the host", "[cuda][nn]") {
  SDKD_CUDA_OR_SKIP();
  Generator g(4);
  nn::Conv2d conv(3, 5, 3, g);
  const Tensor w_before = conv.weight.clone().detach();
  const Tensor held = conv.weight;  // a handle held elsewhere follows the move
  conv.to(kCuda);
  CHECK(conv.device() == kCuda);
  CHECK(held.device() == kCuda);
  REQUIRE(conv.weight.to_float_vector() == w_before.to_float_vector());
  const TempDir tmp("cuda_ckpt");
  const std::string path = tmp / "conv.safetensors";
  save_tensors(path, conv.state_dict());
  nn::Conv2d fresh(3, 5, 3, g);
  fresh.to(kCuda);
  fresh.load_state_dict(load_tensors(path));
  REQUIRE(fresh.weight.to_float_vector() == w_before.to_float_vector());
  CHECK(fresh.weight.device() == kCuda);
}

TEST_CASE("a captured CUDA graph replays forward and backward with new inputs", "[cuda][graph]") {
  SDKD_CUDA_OR_SKIP();
  Generator gen(1);
  nn::Linear lin(16, 8, gen);
  lin.to(kCuda);
  Tensor x_static = Tensor::zeros({4, 16}, DType::f32, kCuda);
  auto step = [&](const Tensor& x) {
    lin.zero_grad();
    Tensor loss = mean(square(lin.forward(x)));
    loss.backward();
    return loss.detach();
  };
  step(cpu_randn({4, 16}, 2).to(kCuda));  // warm-up outside the capture (cuBLAS handle, blocks)
  Tensor loss_static;
  CudaGraph graph(kCuda);
  graph.capture([&] { loss_static = step(x_static); });
  const Tensor wgrad_static = lin.weight.grad();
  for (uint64_t s = 10; s < 13; ++s) {
    const Tensor x = cpu_randn({4, 16}, s);
    x_static.copy_(x);
    graph.replay();
    const Tensor graphed_loss = loss_static.clone(), graphed_grad = wgrad_static.clone();
    const Tensor eager_loss = step(x.to(kCuda));
    // The same kernels on the same data, none with atomics: bitwise equal.
    REQUIRE(graphed_loss.to_float_vector() == eager_loss.to_float_vector());
    REQUIRE(graphed_grad.to_float_vector() == lin.weight.grad().to_float_vector());
  }
}

namespace {
train::TrainResult run(Device dev, const std::string& name, bool graph) {
  const auto ds = noise_flow(12, 6, 77, "toy");
  const auto split = data::split_indices(ds.trajectories(), 0);
  auto model = toy_model(toy_unet_config(), 3);
  model->to(dev);
  const TempDir out("cuda_train_" + name);
  train::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 2;
  cfg.quiet = true;
  cfg.cuda_graph = graph;
  cfg.out_dir = out.str();
  return train::train_forecaster(*model, ds, split, cfg);
}
}  // namespace

TEST_CASE("training on the GPU follows the CPU run, deterministic mode repeats bit for bit", "[cuda][train]") {
  SDKD_CUDA_OR_SKIP();
  const auto cpu = run(kCpu, "cpu", false);
  set_deterministic(true);
  const auto a = run(kCuda, "a", false), b = run(kCuda, "b", false), graphed = run(kCuda, "g", true);
  set_deterministic(false);
  REQUIRE(a.step_losses.size() == cpu.step_losses.size());
  REQUIRE(a.step_losses == b.step_losses);
  // Float rounding differs between the devices and compounds over the steps; the first
  // losses must agree closely, the last ones loosely.
  CHECK(a.step_losses.front() == Approx(cpu.step_losses.front()).epsilon(1e-4));
  CHECK(a.step_losses.back() == Approx(cpu.step_losses.back()).epsilon(2e-2));
  // The graph replays the same kernels as the eager step.
  REQUIRE(graphed.step_losses.size() == a.step_losses.size());
  for (size_t i = 0; i < a.step_losses.size(); ++i) CHECK(graphed.step_losses[i] == Approx(a.step_losses[i]).epsilon(1e-6));
}
