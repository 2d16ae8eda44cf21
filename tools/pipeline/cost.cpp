#include "tools/pipeline/cost.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/profiling.hpp"
#include "tools/pipeline/windows.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::tools {

int64_t flops_per_sample(models::Forecaster& model) {
  const auto& c = model.config();
  const bool was_training = model.training();
  model.eval();
  NoGradGuard ng;
  FlopCounter counter;
  model.forward(Tensor::zeros({1, c.in_frames, c.channels, c.height, c.width}, DType::f32, model.device()));
  model.train(was_training);
  return counter.flops();
}

double inference_ms(models::Forecaster& model, const Tensor& x_host) {
  NoGradGuard ng;
  const Device dev = model.device();
  const Tensor x1 = x_host.to(dev);
  // On a GPU the clock stops when the device has finished, not when the launches return.
  auto sync = [&] {
    if (dev.is_cuda()) cuda_synchronize(dev.index);
  };
  model.forward(x1);
  sync();
  std::vector<double> ms;
  for (int i = 0; i < 7; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(x1);
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return *std::min_element(ms.begin(), ms.end());
}

int64_t train_step_bytes(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                         int64_t batch) {
  // batch comes from the preset's train section, which `demo` scores teachers with before any
  // student config is parsed: check it here too (and the windows the modulo below cycles).
  models::check_int(batch, "train", "batch_size", 1, train::kMaxBatchSize);
  SDKD_CHECK(!ts.windows.empty(), ds.name(), ": no test windows to measure a training step on");
  std::vector<std::pair<int64_t, int64_t>> ws;
  for (int64_t i = 0; i < batch; ++i) ws.push_back(ts.windows[size_t(i) % ts.windows.size()]);
  auto [xh, yh] = ds.batch(ws);
  const Device dev = model.device();
  const Tensor x = xh.to(dev), y = yh.to(dev);
  const auto saved = model.state_dict();
  std::map<std::string, Tensor> copy;
  for (const auto& [n, t] : saved) copy[n] = t.clone().detach();
  int64_t weights = 0;
  for (const auto& p : model.parameters()) weights += p.numel() * int64_t(dtype_size(p.dtype()));
  model.train();
  auto current = [&] { return dev.is_cuda() ? cuda_memory_stats(dev.index).allocated : host_memory_stats().current_bytes; };
  auto peak_now = [&] { return dev.is_cuda() ? cuda_memory_stats(dev.index).peak_allocated : host_memory_stats().peak_bytes; };
  const int64_t before = current();
  if (dev.is_cuda()) cuda_reset_peak(dev.index);
  else reset_peak_host_memory();
  {
    Tensor loss = mse_loss(model.forward(x).pred, y);
    loss.backward();
  }
  const int64_t peak = peak_now() - before;
  model.zero_grad();
  model.load_state_dict(copy);
  model.eval();
  return peak + weights;
}

}  // namespace sdkd::tools
