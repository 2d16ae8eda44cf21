#pragma once
// The student-side feature adapter of SPEC §2: a 3x3 conv (with bias; or 1x1) from the
// student's tapped channels to the teacher's, so distillation can compare the two features.
#include <memory>

#include "sdkd/models/forecaster.hpp"

namespace sdkd::models {

class FeatureAdapter : public nn::Module {
 public:
  FeatureAdapter(int64_t in, int64_t out, Generator& gen, int kernel = 3);  // kernel 1 or 3
  // (B, in, h, w) -> (B, out, h, w); a clear error names both channel counts otherwise.
  Tensor forward(const Tensor& x);
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }

 private:
  int64_t in_, out_;
  std::shared_ptr<nn::Conv2d> conv_;
};

// An adapter from `student`'s latent tap to `teacher`'s (channel counts from latent_channels).
std::shared_ptr<FeatureAdapter> make_adapter(const ModelConfig& student, const ModelConfig& teacher, Generator& gen);

}  // namespace sdkd::models
