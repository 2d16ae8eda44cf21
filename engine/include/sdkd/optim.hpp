#pragma once
// Optimizers over named parameters (on the CPU, or on one CUDA device: a fused multi-tensor
// kernel updates them all in one launch). Adam and AdamW share one implementation: AdamW decays
// weights directly (decoupled, Loshchilov & Hutter), Adam adds weight_decay * w to the gradient.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd::optim {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;  // true: AdamW
};

class Adam {
 public:
  Adam(std::vector<std::pair<std::string, Tensor>> params, AdamOptions opt);
  // One update from the parameters' .grad (parameters without a gradient are skipped).
  void step();
  void zero_grad();
  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  int64_t steps() const { return step_; }
  const AdamOptions& options() const { return opt_; }

  // Moments as "<param>.exp_avg" / "<param>.exp_avg_sq" plus the step count, for checkpoints.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  void step_cuda(double step_size, double inv_sqrt_bc2);
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<Tensor> m_, v_;
  AdamOptions opt_;
  int64_t step_ = 0;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (as PyTorch's clip_grad_norm_).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
double grad_norm(const std::vector<Tensor>& params);

}  // namespace sdkd::optim
