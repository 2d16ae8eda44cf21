#include "sdkd/datasets/sequence_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "sdkd/datasets/loader_choice.hpp"
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
  DatasetPlan plan = plan_dataset(path, options);
  const auto& d = plan.order.dims;
  dims_ = d;
  LoaderChoice choice = choose_loader(options.loader, d[0] * d[1] * d[2] * d[3] * d[4] * int64_t(sizeof(float)),
                                      options.loader == "auto" || options.loader.empty() ? mem_available_bytes() : -1);
  // auto never streams what cannot be streamed: such a file loads as it always did.
  if (choice.stream && options.loader != "stream" && !stream_problem(plan).empty()) {
    choice = {false, choice.why + ", but " + stream_problem(plan) + ": loaded into RAM"};
  }
  source_ = plan.description;
  validate();  // before reading anything: a window that does not fit is known from the shape
  if (choice.stream) {
    frames_ = streamed_frames(std::move(plan));
  } else {
    values_ = load_dataset(plan);
    frames_ = memory_frames(values_);
  }
  source_ += str_cat("; ", frames_->how(), " (", choice.why, ")");
}

SequenceDataset::SequenceDataset(Tensor values, WindowSpec spec, std::string name)
    : values_(values.contiguous()), spec_(spec), name_(std::move(name)) {
  SDKD_CHECK(values_.dim() == 5 && values_.dtype() == DType::f32 && values_.device().is_cpu(), name_,
             ": expected float32 (N, T, C, H, W) on the host, got ", values_.str());
  for (int i = 0; i < 5; ++i) dims_[size_t(i)] = values_.size(i);
  const float* p = values_.data<float>();
  for (int64_t i = 0; i < values_.numel(); ++i)
    SDKD_CHECK(std::isfinite(p[i]), name_, ": non-finite value (NaN or Inf) at flat index ", i);
  frames_ = memory_frames(values_);
  validate();
}

void SequenceDataset::validate() {
  SDKD_CHECK(spec_.input_frames >= 1 && spec_.output_frames >= 1 && spec_.stride >= 1,
             "window: input/output frames and stride must be >= 1");
  SDKD_CHECK(frames() >= spec_.input_frames + spec_.output_frames, name_, ": ", frames(),
             " frames per trajectory, but a window needs ", spec_.input_frames, " input + ", spec_.output_frames,
             " output frames", source_.empty() ? "" : " (" + source_ + "; is --layout right?)");
  SDKD_CHECK(trajectories() >= 1, name_, ": no trajectories");
}

const Tensor& SequenceDataset::values() const {
  SDKD_CHECK(!streamed(), name_, ": the whole array is not in memory, the dataset is streamed from the file (",
             source_, "); read windows with batch(), or load it with --loader ram");
  return values_;
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

std::pair<Tensor, Tensor> SequenceDataset::batch(const std::vector<std::pair<int64_t, int64_t>>& ws, bool pinned) const {
  const int64_t B = int64_t(ws.size()), C = channels(), H = height(), W = width();
  const int64_t span = spec_.input_frames + spec_.output_frames;
  for (const auto& [n, s] : ws)
    SDKD_CHECK(n >= 0 && n < trajectories() && s >= 0 && s + span <= frames(), name_, ": window (", n, ", ", s,
               ") outside ", trajectories(), " trajectories of ", frames(), " frames");
  const Shape xs{B, spec_.input_frames, C, H, W}, ys{B, spec_.output_frames, C, H, W};
  Tensor x = pinned ? Tensor::empty_pinned(xs) : Tensor::empty(xs);
  Tensor y = pinned ? Tensor::empty_pinned(ys) : Tensor::empty(ys);
  if (B > 0) frames_->gather(ws, spec_.input_frames, spec_.output_frames, x.data<float>(), y.data<float>());
  return {x, y};
}

std::pair<double, double> SequenceDataset::moments(const std::vector<int64_t>& trajectories) const {
  const int64_t frame = channels() * height() * width(), step = std::min(frames_->scan_frames(), frames());
  std::vector<float> buf(size_t(step * frame));
  double s = 0, ss = 0;
  for (int64_t n : trajectories) {
    SDKD_CHECK(n >= 0 && n < this->trajectories(), name_, ": trajectory index ", n, " out of range");
    for (int64_t t0 = 0; t0 < frames(); t0 += step) {
      const int64_t count = std::min(step, frames() - t0);
      frames_->read(n, t0, count, buf.data());
      for (int64_t i = 0; i < count * frame; ++i) {  // one running sum in element order, as before
        const double v = buf[size_t(i)];
        s += v;
        ss += v * v;
      }
    }
  }
  const double count = double(frames() * frame) * double(trajectories.size());
  const double mean = s / count;
  return {mean, std::sqrt(std::max(ss / count - mean * mean, 0.0))};
}

BatchIterator::BatchIterator(const SequenceDataset& data, std::vector<std::pair<int64_t, int64_t>> windows,
                             int64_t batch_size, bool shuffle, uint64_t seed, int64_t epoch, bool pinned, Shard shard)
    : data_(data), windows_(std::move(windows)), batch_size_(batch_size), shard_(shard), pinned_(pinned) {
  SDKD_CHECK(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  SDKD_CHECK(shard.size >= 1 && shard.rank >= 0 && shard.rank < shard.size, "shard: rank ", shard.rank,
             " of ", shard.size, " processes");
  if (shuffle) {
    const auto perm = permutation(int64_t(windows_.size()), seed, 0xE90C0000ull + uint64_t(epoch));
    std::vector<std::pair<int64_t, int64_t>> shuffled;
    for (auto i : perm) shuffled.push_back(windows_[size_t(i)]);
    windows_ = std::move(shuffled);
  }
}

int64_t BatchIterator::num_batches() const {
  const int64_t n = int64_t(windows_.size()), global = batch_size_ * shard_.size;
  const int64_t full = n / global, rest = n % global;
  return full + (rest >= shard_.size ? 1 : 0);
}

void BatchIterator::prepare_next() {
  const int64_t n = int64_t(windows_.size());
  const int64_t global = std::min<int64_t>(batch_size_ * shard_.size, n - pos_);
  has_ahead_ = global >= shard_.size && global > 0;  // a remainder smaller than the ranks is left out
  if (!has_ahead_) return;
  // Full batches: rank r takes windows [r b, (r + 1) b); a short one splits near-evenly.
  const int64_t lo = pos_ + global * shard_.rank / shard_.size, hi = pos_ + global * (shard_.rank + 1) / shard_.size;
  ahead_.assign(windows_.begin() + lo, windows_.begin() + hi);
  ahead_global_ = global;
  pos_ += global;
  worker_.start([this] { std::tie(ahead_x_, ahead_y_) = data_.batch(ahead_, pinned_); });
}

bool BatchIterator::next(Tensor& x, Tensor& y) {
  if (!started_) {
    started_ = true;
    prepare_next();
  }
  if (!has_ahead_) return false;
  has_ahead_ = false;  // a read that threw is not retried: the error is the iterator's end
  worker_.wait();
  x = std::move(ahead_x_);
  y = std::move(ahead_y_);
  ahead_x_ = ahead_y_ = Tensor();
  batch_.swap(ahead_);
  global_ = ahead_global_;
  prepare_next();  // batch k+1 is read while the caller trains on batch k
  return true;
}

}  // namespace sdkd::data
