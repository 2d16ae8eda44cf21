#include "sdkd/eval/metrics.hpp"

#include <cmath>

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::eval {

nlohmann::json ForecastMetrics::to_json() const {
  return {{"mse", mse},
          {"mae", mae},
          {"rel_l2", rel_l2},
          {"samples", samples},
          {"mse_per_lead", mse_per_lead},
          {"mae_per_lead", mae_per_lead},
          {"rel_l2_per_lead", rel_l2_per_lead},
          {"mse_per_sample", mse_per_sample}};
}

void MetricAccumulator::add(const Tensor& pred_in, const Tensor& truth_in) {
  SDKD_CHECK(pred_in.shape() == truth_in.shape() && pred_in.dim() == 5, "metrics: prediction ",
             shape_str(pred_in.shape()), " and truth ", shape_str(truth_in.shape()), " must both be (B, T, C, H, W)");
  // Scores accumulate on the host in double; predictions from a GPU come over once here.
  const Tensor pred = pred_in.to(Device{}).to(DType::f32).contiguous();
  const Tensor truth = truth_in.to(Device{}).to(DType::f32).contiguous();
  const int64_t B = pred.size(0), T = pred.size(1), F = pred.numel() / (B * T);
  if (se_.empty()) {
    se_.assign(size_t(T), 0);
    ae_.assign(size_t(T), 0);
    rel_.assign(size_t(T), 0);
    per_frame_ = F;
  }
  SDKD_CHECK(int64_t(se_.size()) == T && per_frame_ == F, "metrics: batch shape changed to ", shape_str(pred.shape()));
  const float* p = pred.data<float>();
  const float* t = truth.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    double err_all = 0, norm_all = 0;
    for (int64_t k = 0; k < T; ++k) {
      double se = 0, ae = 0, nn = 0;
      const int64_t base = (b * T + k) * F;
      for (int64_t i = 0; i < F; ++i) {
        const double e = double(p[base + i]) - double(t[base + i]);
        se += e * e;
        ae += std::fabs(e);
        nn += double(t[base + i]) * double(t[base + i]);
      }
      se_[size_t(k)] += se;
      ae_[size_t(k)] += ae;
      rel_[size_t(k)] += std::sqrt(se / std::max(nn, 1e-30));
      err_all += se;
      norm_all += nn;
    }
    rel_total_ += std::sqrt(err_all / std::max(norm_all, 1e-30));
    sample_mse_.push_back(err_all / double(T * F));
  }
  samples_ += B;
}

ForecastMetrics MetricAccumulator::result() const {
  ForecastMetrics m;
  m.samples = samples_;
  m.mse_per_sample = sample_mse_;
  if (samples_ == 0) return m;
  const double n = double(samples_) * double(per_frame_);
  for (size_t k = 0; k < se_.size(); ++k) {
    m.mse_per_lead.push_back(se_[k] / n);
    m.mae_per_lead.push_back(ae_[k] / n);
    m.rel_l2_per_lead.push_back(rel_[k] / double(samples_));
    m.mse += se_[k] / (n * double(se_.size()));
    m.mae += ae_[k] / (n * double(se_.size()));
  }
  m.rel_l2 = rel_total_ / double(samples_);
  return m;
}

Tensor persistence(const Tensor& x, int64_t out_frames) {
  const Tensor last = x.slice(1, x.size(1) - 1, x.size(1));
  Shape shape = x.shape();
  shape[1] = out_frames;
  return expand(last, shape);
}

ForecastMetrics evaluate(const Predictor& predict, const data::SequenceDataset& data,
                         const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t batch_size) {
  NoGradGuard ng;
  MetricAccumulator acc;
  data::BatchIterator it(data, windows, batch_size, /*shuffle=*/false, 0, 0);
  Tensor x, y;
  while (it.next(x, y)) acc.add(predict(x), y);
  return acc.result();
}

}  // namespace sdkd::eval
