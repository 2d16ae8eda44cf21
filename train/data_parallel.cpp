#include "sdkd/train/data_parallel.hpp"

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/eval/metrics.hpp"

namespace sdkd::train {

void broadcast_module(dist::ProcessGroup& group, nn::Module& m) {
  if (group.size() == 1) return;
  NoGradGuard ng;
  for (auto& [name, t] : m.named_parameters()) group.broadcast(t, 0);
  broadcast_buffers(group, m);
}

void broadcast_buffers(dist::ProcessGroup& group, nn::Module& m) {
  if (group.size() == 1) return;
  NoGradGuard ng;
  for (auto& [name, t] : m.named_buffers()) group.broadcast(t, 0);
}

std::vector<std::pair<int64_t, int64_t>> shard_windows(const std::vector<std::pair<int64_t, int64_t>>& w, int rank,
                                                      int size) {
  const int64_t n = int64_t(w.size());
  return {w.begin() + n * rank / size, w.begin() + n * (rank + 1) / size};
}

double sharded_validation_mse(dist::ProcessGroup& group, models::Forecaster& model, const data::SequenceDataset& data,
                              const std::vector<std::pair<int64_t, int64_t>>& windows, int64_t batch_size) {
  const auto mine = shard_windows(windows, group.rank(), group.size());
  double local = 0;
  if (!mine.empty()) {
    const Device dev = model.device();
    const auto m = eval::evaluate([&](const Tensor& xb) { return model.predict(xb.to(dev)); }, data, mine, batch_size);
    for (double v : m.mse_per_sample) local += v;
  }
  return group.sum(local) / double(windows.size());
}

void check_replicas_agree(dist::ProcessGroup& group, const nn::Module& m, const std::string& when) {
  if (group.size() == 1) return;
  // A fingerprint that moves with any change of any value: position-weighted sums in double.
  double f = 0;
  int64_t k = 0;
  for (const auto& [name, t] : m.state_dict()) {
    double s = 0;
    const std::vector<double> v = t.to_double_vector();
    for (size_t i = 0; i < v.size(); ++i) s += v[i] * double(1 + (i % 97));
    f += s * double(++k);
  }
  std::vector<double> slots(size_t(group.size()), 0.0);
  slots[size_t(group.rank())] = f;
  slots = group.sum(slots);
  for (int r = 1; r < group.size(); ++r)
    SDKD_CHECK(slots[size_t(r)] == slots[0], "the model replicas differ ", when, ": rank ", r, "'s weights are not "
               "rank 0's (fingerprints ", slots[size_t(r)], " vs ", slots[0], "); the ranks must run the same "
               "build, data and options");
}

void check_same_start(dist::ProcessGroup& group, int64_t start_epoch, const std::string& last_path) {
  if (group.size() == 1) return;
  const int64_t hi = group.max(start_epoch), lo = -group.max(-start_epoch);
  SDKD_CHECK(hi == lo, "ranks would start at different epochs (", lo, " and ", hi, "): not every rank sees ",
             last_path, "; put the run folder (--out) on a file system all ranks share to resume");
}

}  // namespace sdkd::train
