// Scoring models for `sdkd eval` and `sdkd demo`: accuracy on the test split (MSE, MAE,
// relative L2, SSIM, PSNR, band errors, spectra) and cost (parameters, FLOPs, latency, memory).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>

#include "eval/image_metrics.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/profiling.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds) {
  TestSet ts;
  const auto split = data::split_indices(ds.trajectories(), preset.value("split_seed", uint64_t(0)));
  ts.windows = ds.windows(split.test);
  ts.data_range = eval::target_range(ds, ts.windows);
  if (preset.contains("eval")) ts.batch = preset["eval"].value("batch_size", int64_t(20));
  return ts;
}

namespace {

template <class Predict>
void score(EvalRow& row, const data::SequenceDataset& ds, const TestSet& ts, Predict predict) {
  NoGradGuard ng;
  eval::MetricAccumulator acc;
  eval::ExtraMetricAccumulator extra(ts.data_range);
  data::BatchIterator it(ds, ts.windows, ts.batch, /*shuffle=*/false, 0, 0);
  Tensor x, y;
  while (it.next(x, y)) {
    const Tensor p = predict(x);
    acc.add(p, y);
    extra.add(p, y);
  }
  row.metrics = acc.result();
  row.extra = extra.result();
}

// Latency of a batch-1 forward pass in eval mode: the fastest of 7 after a warm-up, the
// figure least disturbed by other work on the machine.
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

// Peak bytes (host, or the CUDA allocator's for a model on a GPU) of one training step (forward + backward) at the given batch size, the
// weights included; the running statistics of BatchNorm are restored afterwards.
int64_t train_step_bytes(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                         int64_t batch) {
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

}  // namespace

EvalRow evaluate_model(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                       int64_t train_batch) {
  EvalRow row;
  row.model = model.config().name;
  row.params = model.num_parameters();
  model.eval();
  score(row, ds, ts, [&](const Tensor& x) { return model.forward(x.to(model.device())).pred; });
  row.flops = flops_per_sample(model);
  row.infer_ms = inference_ms(model, ds.batch({ts.windows.front()}).first);
  row.peak_mem_bytes = train_step_bytes(model, ds, ts, train_batch);
  return row;
}

EvalRow evaluate_persistence(const data::SequenceDataset& ds, const TestSet& ts) {
  EvalRow row;
  row.model = "persistence";
  row.role = "baseline";
  row.kd = "-";
  const int64_t T_out = ds.spec().output_frames;
  score(row, ds, ts, [&](const Tensor& x) { return eval::persistence(x, T_out); });
  return row;
}

void print_table(const std::vector<EvalRow>& rows, std::ostream& os) {
  os << std::left << std::setw(12) << "model" << std::setw(9) << "role" << std::setw(9) << "kd" << std::setw(5)
     << "seed" << std::right << std::setw(9) << "MSE" << std::setw(9) << "MAE" << std::setw(8) << "relL2"
     << std::setw(8) << "SSIM" << std::setw(9) << "params" << std::setw(9) << "GFLOPs" << std::setw(9) << "train s"
     << std::setw(9) << "infer ms" << "\n";
  for (const auto& r : rows) {
    os << std::left << std::setw(12) << r.model << std::setw(9) << r.role << std::setw(9) << r.kd << std::setw(5)
       << r.seed << std::right << std::fixed << std::setprecision(4) << std::setw(9) << r.metrics.mse << std::setw(9)
       << r.metrics.mae << std::setw(8) << r.metrics.rel_l2 << std::setw(8) << r.extra.ssim << std::setw(9)
       << r.params << std::setprecision(3) << std::setw(9) << double(r.flops) * 1e-9 << std::setprecision(1)
       << std::setw(9) << r.train_seconds << std::setprecision(2) << std::setw(9) << r.infer_ms << "\n";
  }
  os.unsetf(std::ios::fixed);
}

nlohmann::json rows_json(const std::vector<EvalRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = r.metrics.to_json();
    j["model"] = r.model;
    j["role"] = r.role;
    j["kd"] = r.kd;
    j["seed"] = r.seed;
    j["ssim"] = r.extra.ssim;
    j["psnr"] = r.extra.psnr;
    j["low_band_err"] = r.extra.low_band_err;
    j["high_band_err"] = r.extra.high_band_err;
    j["spectrum_pred"] = r.extra.spectrum_pred;
    j["spectrum_true"] = r.extra.spectrum_true;
    j["params"] = r.params;
    j["flops"] = r.flops;
    j["train_seconds"] = r.train_seconds;
    j["infer_ms"] = r.infer_ms;
    j["peak_mem_bytes"] = r.peak_mem_bytes;
    a.push_back(j);
  }
  return {{"rows", a}};
}

}  // namespace sdkd::tools
