#pragma once
// Where a SequenceDataset's frames come from (datasets/sequence_dataset.hpp): the whole
// (N, T, C, H, W) array in memory, or the data file itself, read batch by batch ("streamed").
// Every source returns the same float32 values in the same C order, so a batch is the same
// bytes whichever one ran (tests/datasets/test_streaming.cpp compares them byte for byte).
//
// The streamed sources (datasets/streamed_frames.cpp):
// - a C-order .npy whose layout is already N, T, (C), H, W: the frames of a window are one
//   contiguous span of the file, copied straight from the memory mapping (pages the kernel is
//   asked to fetch for the whole batch first, so its spans are read in parallel);
// - anything else (Fortran order, another layout, MAT, HDF5): the trajectory's stored rows
//   through ArrayFile::read_rows, converted by the same scatter_rows open_dataset uses
//   (datasets/axis_order.hpp); each trajectory a batch touches is read once for that batch.
// Sources are immutable after construction and may be read from several threads at once.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sdkd/datasets/open_dataset.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

using Window = std::pair<int64_t, int64_t>;  // (trajectory, first frame)

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // N, T, C, H, W of the frames.
  const std::array<int64_t, 5>& dims() const { return dims_; }
  int64_t frame_values() const { return dims_[2] * dims_[3] * dims_[4]; }

  // Frames [t0, t0 + count) of trajectory n, float32 C order: count * frame_values() to out.
  virtual void read(int64_t n, int64_t t0, int64_t count, float* out) const = 0;
  // Frames s .. s+in-1 of each window into x (B, in, C, H, W) and s+in .. s+in+out-1 into y.
  // The windows are in range (SequenceDataset::windows made them). The default reads each
  // window with read(); streamed sources group or prefetch first.
  virtual void gather(const std::vector<Window>& windows, int64_t in, int64_t out, float* x, float* y) const;
  // Frames one read() should cover when a whole trajectory is scanned (moments).
  virtual int64_t scan_frames() const;
  // How the frames are read, for SequenceDataset::source(): "in memory", "streamed: ...".
  virtual std::string how() const = 0;

 protected:
  explicit FrameSource(std::array<int64_t, 5> dims) : dims_(dims) {}

 private:
  std::array<int64_t, 5> dims_;
};

// The frames of `values` (float32 (N, T, C, H, W), contiguous), shared, never copied.
std::shared_ptr<const FrameSource> memory_frames(const Tensor& values);

// Why the planned array cannot be streamed, or "" when it can: streaming reads whole stored rows,
// so stored axis 0 must be N (a row is one trajectory) or, without an N axis, T (a row is one
// frame). HWT, HWNT, TNHW, ... spread every frame over the whole file.
std::string stream_problem(const DatasetPlan& plan);

// The frames of a planned data file (datasets/open_dataset.hpp), read from the file when asked.
// Scans the whole array once first, chunk by chunk, so a NaN or Inf gives open_dataset's error
// (file, array, index) before any training starts. One error naming the file when
// stream_problem is not "".
std::shared_ptr<const FrameSource> streamed_frames(DatasetPlan plan);

}  // namespace sdkd::data
