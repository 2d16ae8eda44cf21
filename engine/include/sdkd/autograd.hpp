#pragma once
// Reverse-mode autograd. Each differentiable op that sees an input requiring grad records a
// Node holding its inputs and what its hand-written backward needs; Tensor::backward walks
// the recorded graph in reverse topological order (the "tape" of this forward pass),
// sums gradients that meet at a tensor, and accumulates (+=) into leaves' .grad.
#include <string>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd {

struct Node {
  std::vector<Tensor> inputs;  // gradients are produced for these, in this order
  bool released = false;       // set (and inputs cleared) by a backward pass without retain_graph
  virtual ~Node() = default;
  // Gradients with respect to `inputs` given the gradient of the output; an undefined
  // Tensor means "no gradient" for that input.
  virtual std::vector<Tensor> backward(const Tensor& grad_out) = 0;
  virtual const char* name() const = 0;
};

// Gradient recording is on unless a NoGradGuard is alive on this thread.
struct GradMode {
  static bool enabled();
  static void set_enabled(bool on);
};

class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and any of the tensors requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Attaches node to out (setting requires_grad) when grad is needed; returns out.
Tensor record(Tensor out, std::shared_ptr<Node> node);

}  // namespace sdkd
