#pragma once
// Forecasting windows over a (N, T, C, H, W) float32 array: sample (n, s) is input frames
// s..s+in-1 and target frames s+in..s+in+out-1 of trajectory n. Trajectories (not windows)
// are split 80/10/10 so no trajectory leaks between train and test.
#include <string>
#include <vector>

#include "datasets/open_dataset.hpp"
#include "datasets/split.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

struct WindowSpec {
  int input_frames = 10, output_frames = 10;
  int stride = 10;  // between window starts inside one trajectory
};

class SequenceDataset {
 public:
  // Loads the whole array of a data file through open_dataset (datasets/open_dataset.hpp: any
  // format, --var, --layout); our own .npy files (N, T, C, H, W) float32 load as written.
  SequenceDataset(const std::string& path, WindowSpec spec, const DatasetOptions& options = {});
  // From memory, for tests and generated-on-the-fly data: values (N, T, C, H, W).
  SequenceDataset(Tensor values, WindowSpec spec, std::string name = "<memory>");

  int64_t trajectories() const { return values_.size(0); }
  int64_t frames() const { return values_.size(1); }
  int64_t channels() const { return values_.size(2); }
  int64_t height() const { return values_.size(3); }
  int64_t width() const { return values_.size(4); }
  const WindowSpec& spec() const { return spec_; }
  const std::string& name() const { return name_; }
  // How the values were read ("u (1200, 64, 64, 20) of MAT v5 read as NHWT: ..."), for messages.
  const std::string& source() const { return source_; }
  const Tensor& values() const { return values_; }

  // Windows (trajectory, start) of the given trajectories, in order.
  std::vector<std::pair<int64_t, int64_t>> windows(const std::vector<int64_t>& trajectories) const;
  // Stacks the windows into X (B, in, C, H, W) and Y (B, out, C, H, W).
  std::pair<Tensor, Tensor> batch(const std::vector<std::pair<int64_t, int64_t>>& windows) const;

  // Global z-score statistics (mean, std) over the given trajectories, for normalisation.
  std::pair<double, double> moments(const std::vector<int64_t>& trajectories) const;

 private:
  void validate();
  Tensor values_;
  WindowSpec spec_;
  std::string name_;
  std::string source_;
};

// Iterates over windows in batches; shuffled per epoch from (seed, epoch) so a resumed run
// sees exactly the batches it would have seen.
class BatchIterator {
 public:
  BatchIterator(const SequenceDataset& data, std::vector<std::pair<int64_t, int64_t>> windows, int64_t batch_size,
                bool shuffle, uint64_t seed, int64_t epoch);
  int64_t num_batches() const;
  bool next(Tensor& x, Tensor& y);
  // The windows of the batch last returned by next().
  const std::vector<std::pair<int64_t, int64_t>>& batch_windows() const { return batch_; }

 private:
  const SequenceDataset& data_;
  std::vector<std::pair<int64_t, int64_t>> windows_, batch_;
  int64_t batch_size_, pos_ = 0;
};

}  // namespace sdkd::data
