#include "datasets/sequence_dataset.hpp"

#include <cmath>
#include <cstring>

#include "sdkd/error.hpp"

namespace sdkd::data {

namespace {
// The path, and the options that pick what is read from it: the name identifies the data (a
// teacher is reused only for the same name), so another --var of one file is other data.
std::string dataset_name(const std::string& path, const DatasetOptions& o) {
  if (o.var.empty() && o.layout.empty()) return path;
  return str_cat(path, " [", o.var.empty() ? "" : "var " + o.var, !o.var.empty() && !o.layout.empty() ? ", " : "",
                 o.layout.empty() ? "" : "layout " + o.layout, "]");
}
}  // namespace

SequenceDataset::SequenceDataset(const std::string& path, WindowSpec spec, const DatasetOptions& options)
    : spec_(spec), name_(dataset_name(path, options)) {
  LoadedDataset loaded = open_dataset(path, options);
  values_ = loaded.values;
  source_ = std::move(loaded.description);
  validate();
}

SequenceDataset::SequenceDataset(Tensor values, WindowSpec spec, std::string name)
    : values_(values.contiguous()), spec_(spec), name_(std::move(name)) {
  SDKD_CHECK(values_.dim() == 5 && values_.dtype() == DType::f32, name_, ": expected float32 (N, T, C, H, W), got ",
             values_.str());
  validate();
}

void SequenceDataset::validate() {
  SDKD_CHECK(spec_.input_frames >= 1 && spec_.output_frames >= 1 && spec_.stride >= 1,
             "window: input/output frames and stride must be >= 1");
  SDKD_CHECK(frames() >= spec_.input_frames + spec_.output_frames, name_, ": ", frames(),
             " frames per trajectory, but a window needs ", spec_.input_frames, " input + ", spec_.output_frames,
             " output frames", source_.empty() ? "" : " (" + source_ + "; is --layout right?)");
  SDKD_CHECK(trajectories() >= 1, name_, ": no trajectories");
  const float* p = values_.data<float>();
  for (int64_t i = 0; i < values_.numel(); ++i)
    SDKD_CHECK(std::isfinite(p[i]), name_, ": non-finite value (NaN or Inf) at flat index ", i);
}

std::vector<std::pair<int64_t, int64_t>> SequenceDataset::windows(const std::vector<int64_t>& trajectories) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  const int64_t span = spec_.input_frames + spec_.output_frames;
  for (int64_t n : trajectories) {
    SDKD_CHECK(n >= 0 && n < this->trajectories(), name_, ": trajectory index ", n, " out of range");
    for (int64_t s = 0; s + span <= frames(); s += spec_.stride) out.emplace_back(n, s);
  }
  return out;
}

std::pair<Tensor, Tensor> SequenceDataset::batch(const std::vector<std::pair<int64_t, int64_t>>& ws) const {
  const int64_t B = int64_t(ws.size()), C = channels(), H = height(), W = width();
  const int64_t frame = C * H * W;
  Tensor x = Tensor::empty({B, spec_.input_frames, C, H, W}), y = Tensor::empty({B, spec_.output_frames, C, H, W});
  const float* src = values_.data<float>();
  float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    const auto [n, s] = ws[size_t(b)];
    const float* traj = src + (n * frames() + s) * frame;
    std::memcpy(px + b * spec_.input_frames * frame, traj, size_t(spec_.input_frames * frame) * sizeof(float));
    std::memcpy(py + b * spec_.output_frames * frame, traj + spec_.input_frames * frame,
                size_t(spec_.output_frames * frame) * sizeof(float));
  }
  return {x, y};
}

std::pair<double, double> SequenceDataset::moments(const std::vector<int64_t>& trajectories) const {
  const int64_t per = frames() * channels() * height() * width();
  double s = 0, ss = 0;
  const float* p = values_.data<float>();
  for (int64_t n : trajectories)
    for (int64_t i = 0; i < per; ++i) {
      const double v = p[n * per + i];
      s += v;
      ss += v * v;
    }
  const double count = double(per) * double(trajectories.size());
  const double mean = s / count;
  return {mean, std::sqrt(std::max(ss / count - mean * mean, 0.0))};
}

BatchIterator::BatchIterator(const SequenceDataset& data, std::vector<std::pair<int64_t, int64_t>> windows,
                             int64_t batch_size, bool shuffle, uint64_t seed, int64_t epoch)
    : data_(data), windows_(std::move(windows)), batch_size_(batch_size) {
  SDKD_CHECK(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  if (shuffle) {
    const auto perm = permutation(int64_t(windows_.size()), seed, 0xE90C0000ull + uint64_t(epoch));
    std::vector<std::pair<int64_t, int64_t>> shuffled;
    for (auto i : perm) shuffled.push_back(windows_[size_t(i)]);
    windows_ = std::move(shuffled);
  }
}

int64_t BatchIterator::num_batches() const { return (int64_t(windows_.size()) + batch_size_ - 1) / batch_size_; }

bool BatchIterator::next(Tensor& x, Tensor& y) {
  if (pos_ >= int64_t(windows_.size())) return false;
  const int64_t end = std::min<int64_t>(pos_ + batch_size_, int64_t(windows_.size()));
  batch_.assign(windows_.begin() + pos_, windows_.begin() + end);
  pos_ = end;
  std::tie(x, y) = data_.batch(batch_);
  return true;
}

}  // namespace sdkd::data
