#pragma once
// Forecasting windows over a (N, T, C, H, W) float32 array: sample (n, s) is input frames
// s..s+in-1 and target frames s+in..s+in+out-1 of trajectory n. Trajectories (not windows)
// are split 80/10/10 so no trajectory leaks between train and test.
//
// The frames come from memory or, streamed, from the data file itself (DatasetOptions::loader,
// datasets/frame_source.hpp); every method but values() works the same in both modes and
// gives the same bytes, so which loader ran never changes a result.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/datasets/frame_source.hpp"
#include "sdkd/datasets/open_dataset.hpp"
#include "sdkd/datasets/prefetch.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

struct WindowSpec {
  int input_frames = 10, output_frames = 10;
  int stride = 10;  // between window starts inside one trajectory
};

class SequenceDataset {
 public:
  // A data file through open_dataset's rules (datasets/open_dataset.hpp: any format, --var,
  // --layout); our own .npy files (N, T, C, H, W) float32 read as written. options.loader picks
  // RAM or streaming (datasets/loader_choice.hpp); either way the file is checked for NaN/Inf here.
  SequenceDataset(const std::string& path, WindowSpec spec, const DatasetOptions& options = {});
  // From memory, for tests and generated-on-the-fly data: values (N, T, C, H, W).
  SequenceDataset(Tensor values, WindowSpec spec, std::string name = "<memory>");

  int64_t trajectories() const { return dims_[0]; }
  int64_t frames() const { return dims_[1]; }
  int64_t channels() const { return dims_[2]; }
  int64_t height() const { return dims_[3]; }
  int64_t width() const { return dims_[4]; }
  const WindowSpec& spec() const { return spec_; }
  // The path and the options that pick the data (not the loader): a teacher is reused only for
  // the same name.
  const std::string& name() const { return name_; }
  // How the values were read and which loader ran ("u (1200, 64, 64, 20) of MAT v5 read as
  // NHWT: ...; streamed: ... (--loader auto: ...)"), for messages.
  const std::string& source() const { return source_; }
  bool streamed() const { return !values_.defined(); }
  // The whole array; in memory only: a streamed dataset throws one error saying to use batch().
  const Tensor& values() const;

  // Windows (trajectory, start) of the given trajectories, in order.
  std::vector<std::pair<int64_t, int64_t>> windows(const std::vector<int64_t>& trajectories) const;
  // Stacks the windows into X (B, in, C, H, W) and Y (B, out, C, H, W), host tensors in
  // page-locked memory when `pinned` (Tensor::empty_pinned: a direct copy to a GPU).
  std::pair<Tensor, Tensor> batch(const std::vector<std::pair<int64_t, int64_t>>& windows, bool pinned = false) const;

  // Global z-score statistics (mean, std) over the given trajectories, for normalisation;
  // streamed trajectory by trajectory, the same sums in the same order in both modes.
  std::pair<double, double> moments(const std::vector<int64_t>& trajectories) const;

 private:
  void validate();
  std::shared_ptr<const FrameSource> frames_;
  std::array<int64_t, 5> dims_{};
  Tensor values_;  // undefined when streamed
  WindowSpec spec_;
  std::string name_;
  std::string source_;
};

// This process's part of every batch when several train together (data parallelism): the
// batches are those of one process with batch_size * size, each cut into `size` consecutive
// parts, part `rank` here (a short last batch in near-equal parts; one with fewer windows than
// processes is left out, so every rank always has a batch). Disjoint, covering, and fixed by
// the seed like the unsharded order.
struct Shard {
  int rank = 0, size = 1;
};

// Iterates over windows in batches; shuffled per epoch from (seed, epoch) so a resumed run
// sees exactly the batches it would have seen. While the caller works on batch k, batch k+1 is
// read on a worker thread (BackgroundJob); the batches are the same either way. `pinned`:
// batches in page-locked host memory, for a model on a CUDA device.
class BatchIterator {
 public:
  BatchIterator(const SequenceDataset& data, std::vector<std::pair<int64_t, int64_t>> windows, int64_t batch_size,
                bool shuffle, uint64_t seed, int64_t epoch, bool pinned = false, Shard shard = {});
  int64_t num_batches() const;
  // Windows in the whole (all ranks') batch last returned by next(): this rank's share of the
  // global loss is batch_windows().size() / global_batch_size().
  int64_t global_batch_size() const { return global_; }
  // The next batch into x and y; false after the last. Rethrows what reading it threw.
  bool next(Tensor& x, Tensor& y);
  // The windows of the batch last returned by next().
  const std::vector<std::pair<int64_t, int64_t>>& batch_windows() const { return batch_; }

 private:
  void prepare_next();  // takes the next windows and starts reading them on the worker

  const SequenceDataset& data_;
  std::vector<std::pair<int64_t, int64_t>> windows_, batch_, ahead_;
  int64_t batch_size_, pos_ = 0, global_ = 0, ahead_global_ = 0;
  Shard shard_;
  bool pinned_, started_ = false, has_ahead_ = false;
  Tensor ahead_x_, ahead_y_;
  BackgroundJob worker_;  // last: destroyed (joined) before the buffers its job fills
};

}  // namespace sdkd::data
