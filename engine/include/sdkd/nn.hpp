#pragma once
// Modules: parameters and buffers with hierarchical names ("down.0.conv.weight"), train/eval
// mode, and the layers the models are built from. Initialisation follows PyTorch's defaults
// (uniform in +-1/sqrt(fan_in)) drawn from a counter-based Generator, so a seed fixes a model.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sdkd/collective.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/rng.hpp"

namespace sdkd::nn {

class Module {
 public:
  virtual ~Module() = default;

  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;
  // Parameters and buffers together, the content of a checkpoint.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values into the existing tensors; every name must match with the same shape, and
  // (strict) every entry of the module must be present. Errors name the offending entry.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Converts every parameter and buffer in place (handles held elsewhere see the change);
  // float64 models make finite-difference checks of whole networks meaningful.
  void to(DType dtype);
  // Moves every parameter and buffer to `device` in place (handles held elsewhere follow).
  void to(Device device);
  Device device() const;  // where the first parameter lives (CPU for an empty module)

  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }
  void zero_grad();
  // Calls fn on this module and then on every submodule, depth first in registration order.
  void apply(const std::function<void(Module&)>& fn);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor>>& out) const;
  std::vector<std::pair<std::string, Tensor>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Uniform(-bound, bound) tensor from the generator (PyTorch's default init uses this).
Tensor uniform_init(const Shape& shape, double bound, Generator& gen);

class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int k, Generator& gen, int stride = 1, int pad = -1, int dil = 1, int groups = 1,
         bool bias = true);  // pad -1: "same" padding dil*(k-1)/2
  Tensor forward(const Tensor& x) const { return conv2d(x, weight, bias, opt); }
  Tensor weight, bias;
  Conv2dOptions opt;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in, int64_t out, int k, Generator& gen, int stride = 1, int pad = 0, int out_pad = 0,
                  int groups = 1, bool bias = true);
  Tensor forward(const Tensor& x) const { return conv_transpose2d(x, weight, bias, opt); }
  Tensor weight, bias;
  Conv2dOptions opt;
};

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
  Tensor weight, bias;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double momentum = 0.1, double eps = 1e-5);
  Tensor forward(const Tensor& x);
  Tensor weight, bias, running_mean, running_var;
  double momentum, eps;
  // When set to a group of more than one member, training mode normalises over the whole
  // group's batch (sync_batch_norm2d, sdkd/collective.hpp); eval mode is unchanged.
  std::shared_ptr<Collective> sync;
};

// Sets (or, with nullptr, clears) BatchNorm2d::sync on every BatchNorm2d inside m; returns how
// many it set.
int64_t sync_batch_norms(Module& m, std::shared_ptr<Collective> group);

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t groups, int64_t channels, double eps = 1e-5);
  Tensor forward(const Tensor& x) const { return group_norm(x, groups, weight, bias, eps); }
  Tensor weight, bias;
  int64_t groups;
  double eps;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);
  Tensor forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }
  Tensor weight, bias;
  double eps;
};

}  // namespace sdkd::nn
