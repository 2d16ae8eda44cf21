// Scoring models for `sdkd eval` and `sdkd demo`: accuracy on the test split (MSE, MAE,
// relative L2, SSIM, PSNR, band errors, spectra) and cost (parameters, FLOPs, latency, memory).
#include "tools/pipeline/evaluate.hpp"

#include "sdkd/models/forecaster.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/error.hpp"
#include "tools/pipeline/cost.hpp"
#include "tools/pipeline/presets.hpp"

namespace sdkd::tools {

namespace {

template <class Predict>
void score(EvalRow& row, const data::SequenceDataset& ds, const TestSet& ts, Predict predict) {
  NoGradGuard ng;
  eval::MetricAccumulator acc;
  eval::ExtraMetricAccumulator extra(ts.data_range);
  data::BatchIterator it(ts.data(ds), ts.windows, ts.batch, /*shuffle=*/false, 0, 0);
  Tensor x, y;
  while (it.next(x, y)) {
    const Tensor p = predict(x);
    acc.add(p, y);
    extra.add(p, y);
  }
  row.metrics = acc.result();
  row.extra = extra.result();
}

}  // namespace

EvalRow evaluate_model(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                       int64_t train_batch) {
  EvalRow row;
  row.model = model.config().name;
  row.params = model.num_parameters();
  model.eval();
  score(row, ds, ts, [&](const Tensor& x) { return model.predict(x.to(model.device())); });
  row.flops = flops_per_sample(model);
  row.infer_ms = inference_ms(model, ts.data(ds).batch({ts.windows.front()}).first);
  row.peak_mem_bytes = train_step_bytes(model, ts.data(ds), ts, train_batch);
  return row;
}

double validation_mse(models::Forecaster& model, const data::SequenceDataset& ds, const nlohmann::json& preset,
                      int64_t batch) {
  TestSet val;
  val.windows = ds.windows(data::split_indices(ds.trajectories(), split_seed(preset)).val);
  SDKD_CHECK(!val.windows.empty(), ds.name(), ": the validation split holds no forecasting window");
  val.batch = batch;
  EvalRow row;
  model.eval();
  score(row, ds, val, [&](const Tensor& x) { return model.predict(x.to(model.device())); });
  return row.metrics.mse;
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

}  // namespace sdkd::tools
