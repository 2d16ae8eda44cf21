#include "sdkd/datasets/frame_source.hpp"

#include <algorithm>
#include <cstring>

#include "sdkd/error.hpp"

namespace sdkd::data {

void FrameSource::gather(const std::vector<Window>& windows, int64_t in, int64_t out, float* x, float* y) const {
  const int64_t frame = frame_values();
  for (size_t b = 0; b < windows.size(); ++b) {
    const auto [n, s] = windows[b];
    read(n, s, in, x + int64_t(b) * in * frame);
    read(n, s + in, out, y + int64_t(b) * out * frame);
  }
}

int64_t FrameSource::scan_frames() const {
  // About 2^23 values (32 MB) per read: memory stays bounded for any trajectory length.
  return std::max<int64_t>(1, (int64_t(1) << 23) / std::max<int64_t>(frame_values(), 1));
}

namespace {

class MemoryFrames final : public FrameSource {
 public:
  explicit MemoryFrames(const Tensor& values)
      : FrameSource({values.size(0), values.size(1), values.size(2), values.size(3), values.size(4)}),
        values_(values) {}
  void read(int64_t n, int64_t t0, int64_t count, float* out) const override {
    const int64_t frame = frame_values();
    std::memcpy(out, values_.data<float>() + (n * dims()[1] + t0) * frame, size_t(count * frame) * sizeof(float));
  }
  int64_t scan_frames() const override { return dims()[1]; }  // no buffer to bound: a copy per trajectory
  std::string how() const override { return "in memory"; }

 private:
  Tensor values_;
};

}  // namespace

std::shared_ptr<const FrameSource> memory_frames(const Tensor& values) {
  SDKD_CHECK(values.dim() == 5 && values.dtype() == DType::f32 && values.is_contiguous() && values.device().is_cpu(),
             "memory_frames: expected a contiguous float32 (N, T, C, H, W) host tensor, got ", values.str());
  return std::make_shared<MemoryFrames>(values);
}

}  // namespace sdkd::data
