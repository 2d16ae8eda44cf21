// The streamed frame sources of datasets/frame_source.hpp: frames read from the data file when a
// batch asks for them, never the whole array in memory.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "sdkd/datasets/frame_source.hpp"
#include "sdkd/datasets/npy_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::data {
namespace {

// A C-order .npy in the result's axis order: frames [t0, t0 + count) of trajectory n are the
// elements [(n T + t0) F, (n T + t0 + count) F) of the file, whatever the dtype.
class MappedNpyFrames final : public FrameSource {
 public:
  explicit MappedNpyFrames(DatasetPlan plan)
      : FrameSource(plan.order.dims), plan_(std::move(plan)), npy_(dynamic_cast<const NpyFile&>(*plan_.file)) {}

  void read(int64_t n, int64_t t0, int64_t count, float* out) const override {
    const int64_t frame = frame_values();
    npy_.read_span((n * dims()[1] + t0) * frame, count * frame, out);
  }

  void gather(const std::vector<Window>& windows, int64_t in, int64_t out, float* x, float* y) const override {
    // Ask for every window's pages before copying any: the kernel then reads the batch's spans
    // in parallel (and with its readahead) instead of one page fault at a time.
    const int64_t frame = frame_values();
    for (const auto& [n, s] : windows) npy_.will_need((n * dims()[1] + s) * frame, (in + out) * frame);
    FrameSource::gather(windows, in, out, x, y);
    // Copied: unmap them, so the process does not end up mapping the whole file (the page
    // cache keeps what the kernel chooses; a later read faults them in again).
    for (const auto& [n, s] : windows) npy_.release_span((n * dims()[1] + s) * frame, (in + out) * frame);
  }

  std::string how() const override { return "streamed: each window's frames copied from the memory-mapped .npy"; }

 private:
  DatasetPlan plan_;
  const NpyFile& npy_;
};

// Any other file or layout: stored rows through read_rows, converted by scatter_rows. Stored
// axis 0 decides what one read covers: N, one trajectory (its row); T when there is no N axis,
// the frames asked for (as rows). stream_problem refuses every other order.
class ConvertedFrames final : public FrameSource {
 public:
  explicit ConvertedFrames(DatasetPlan plan) : FrameSource(plan.order.dims), plan_(std::move(plan)) {}

  void read(int64_t n, int64_t t0, int64_t count, float* out) const override {
    const ArrayInfo& a = plan_.array;
    const AxisOrder& o = plan_.order;
    const std::string& path = plan_.file->path();
    const int64_t frame = frame_values(), T = dims()[1];
    // The readers' own locks cover their state; this one covers the scratch buffers.
    const std::lock_guard<std::mutex> lock(mutex_);
    if (o.layout[0] == 'T') {
      raw_.resize(size_t(count * o.row));
      plan_.file->read_rows(a.name, t0, count, raw_.data());
      plan_.file->release_rows(a.name, t0, count);
      scatter_rows(raw_.data(), t0, count, a, o, out, path);
      return;
    }
    traj_.resize(size_t(T * frame));
    raw_.resize(size_t(o.row));
    plan_.file->read_rows(a.name, n, 1, raw_.data());
    plan_.file->release_rows(a.name, n, 1);
    scatter_rows(raw_.data(), n, 1, a, o, traj_.data(), path);
    std::memcpy(out, traj_.data() + t0 * frame, size_t(count * frame) * sizeof(float));
  }

  void gather(const std::vector<Window>& windows, int64_t in, int64_t out, float* x, float* y) const override {
    // One read per trajectory and batch: the frames from its first window's start to its last
    // window's end, then each window copied out of them.
    std::map<int64_t, std::vector<size_t>> by_trajectory;
    for (size_t b = 0; b < windows.size(); ++b) by_trajectory[windows[b].first].push_back(b);
    const int64_t frame = frame_values();
    std::vector<float> frames;
    for (const auto& [n, batch_rows] : by_trajectory) {
      int64_t lo = windows[batch_rows.front()].second, hi = lo;
      for (size_t b : batch_rows) {
        lo = std::min(lo, windows[b].second);
        hi = std::max(hi, windows[b].second + in + out);
      }
      frames.resize(size_t((hi - lo) * frame));
      read(n, lo, hi - lo, frames.data());
      for (size_t b : batch_rows) {
        const float* w = frames.data() + (windows[b].second - lo) * frame;
        std::memcpy(x + int64_t(b) * in * frame, w, size_t(in * frame) * sizeof(float));
        std::memcpy(y + int64_t(b) * out * frame, w + in * frame, size_t(out * frame) * sizeof(float));
      }
    }
  }

  // A trajectory is converted whole anyway (unless T is stored first): scan it in one read.
  int64_t scan_frames() const override {
    return plan_.order.layout[0] == 'T' ? FrameSource::scan_frames() : dims()[1];
  }

  std::string how() const override {
    return str_cat("streamed: ", plan_.order.layout[0] == 'N' ? "each trajectory a batch needs" : "the frames a batch needs",
                   " read from the ", plan_.file->format(), " file", plan_.order.identity ? "" : " and reordered");
  }

 private:
  DatasetPlan plan_;
  mutable std::mutex mutex_;
  mutable std::vector<float> raw_, traj_;
};

}  // namespace

std::string stream_problem(const DatasetPlan& plan) {
  const std::string& layout = plan.order.layout;
  if (layout[0] == 'N' || (layout[0] == 'T' && layout.find('N') == std::string::npos)) return "";
  return str_cat("layout ", layout, " stores ", layout[0],
                 " first, so every stored row holds a piece of every trajectory's frames and a batch would read "
                 "the whole array; streaming needs N (or, for one trajectory, T) as the first stored axis");
}

std::shared_ptr<const FrameSource> streamed_frames(DatasetPlan plan) {
  const std::string problem = stream_problem(plan);
  SDKD_CHECK(problem.empty(), plan.file->path(), ": ", array_label(plan.array), " ", shape_text(plan.array.shape),
             ": cannot stream it: ", problem, " (save it with N first, e.g. as NTHW, or use --loader ram)");
  scan_finite(*plan.file, plan.array);
  const auto* npy = dynamic_cast<const NpyFile*>(plan.file.get());
  if (npy && npy->c_order() && plan.order.identity) return std::make_shared<MappedNpyFrames>(std::move(plan));
  return std::make_shared<ConvertedFrames>(std::move(plan));
}

}  // namespace sdkd::data
