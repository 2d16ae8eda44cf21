#include "sdkd/nn.hpp"

#include <cmath>
#include <set>

#include "dispatch.hpp"
#include "tensor_impl.hpp"
#include "sdkd/autograd.hpp"

namespace sdkd::nn {

void Module::collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& t : parameters()) n += t.numel();
  return n;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [n, t] : named_parameters()) out[n] = t;
  for (auto& [n, t] : named_buffers()) out[n] = t;
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  NoGradGuard ng;
  std::set<std::string> used;
  for (auto& [name, t] : state_dict()) {
    auto it = state.find(name);
    if (it == state.end()) {
      SDKD_CHECK(!strict, "load_state_dict: missing entry '", name, "' (expected shape ", shape_str(t.shape()), ")");
      continue;
    }
    SDKD_CHECK(it->second.shape() == t.shape(), "load_state_dict: '", name, "' has shape ",
               shape_str(it->second.shape()), ", the model expects ", shape_str(t.shape()));
    Tensor dst = t;
    dst.copy_(it->second);
    used.insert(name);
  }
  if (strict)
    for (auto& [name, t] : state)
      SDKD_CHECK(used.count(name), "load_state_dict: unexpected entry '", name, "' ", t.str(), " not in the model");
}

void Module::to(DType dtype) {
  NoGradGuard ng;
  auto convert = [dtype](const Tensor& t) {
    if (t.dtype() == dtype) return;
    const Tensor c = t.detach().to(dtype).contiguous();
    TensorImpl* impl = t.impl();
    impl->storage = c.impl()->storage;
    impl->offset = 0;
    impl->strides = c.strides();
    impl->dtype = dtype;
    impl->grad.reset();
  };
  for (auto& [n, t] : named_parameters()) convert(t);
  for (auto& [n, t] : named_buffers()) convert(t);
}

void Module::to(Device device) {
  NoGradGuard ng;
  auto move = [device](const Tensor& t) {
    if (t.device() == device) return;
    const Tensor c = t.detach().contiguous().to(device);
    TensorImpl* impl = t.impl();
    impl->storage = c.impl()->storage;
    impl->offset = 0;
    impl->strides = c.strides();
    impl->grad.reset();
  };
  for (auto& [n, t] : named_parameters()) move(t);
  for (auto& [n, t] : named_buffers()) move(t);
}

Device Module::device() const {
  const auto params = named_parameters();
  if (!params.empty()) return params.front().second.device();
  const auto buffers = named_buffers();
  return buffers.empty() ? Device{} : buffers.front().second.device();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [name, child] : children_) child->apply(fn);
}

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return buffers_.back().second;
}

Tensor uniform_init(const Shape& shape, double bound, Generator& gen) {
  Tensor u = Tensor::rand(shape, gen, DType::f64);
  Tensor out = Tensor::empty(shape);
  const double* pu = u.data<double>();
  float* po = out.data<float>();
  for (int64_t i = 0; i < u.numel(); ++i) po[i] = float((2 * pu[i] - 1) * bound);
  return out;
}

Conv2d::Conv2d(int64_t in, int64_t out, int k, Generator& gen, int stride, int pad, int dil, int groups, bool has_bias) {
  SDKD_CHECK(in % groups == 0 && out % groups == 0, "Conv2d(", in, " -> ", out, "): channels not divisible by groups ",
             groups);
  opt = Conv2dOptions::make(stride, pad < 0 ? dil * (k - 1) / 2 : pad, dil, groups);
  const double bound = 1.0 / std::sqrt(double(in / groups * k * k));
  weight = register_parameter("weight", uniform_init({out, in / groups, k, k}, bound, gen));
  if (has_bias) bias = register_parameter("bias", uniform_init({out}, bound, gen));
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int k, Generator& gen, int stride, int pad, int out_pad,
                                 int groups, bool has_bias) {
  SDKD_CHECK(in % groups == 0 && out % groups == 0, "ConvTranspose2d(", in, " -> ", out,
             "): channels not divisible by groups ", groups);
  opt = Conv2dOptions::make(stride, pad, 1, groups, out_pad);
  // PyTorch computes fan_in from weight.size(1) * k * k = out/groups * k * k for transposed convs.
  const double bound = 1.0 / std::sqrt(double(out / groups * k * k));
  weight = register_parameter("weight", uniform_init({in, out / groups, k, k}, bound, gen));
  if (has_bias) bias = register_parameter("bias", uniform_init({out}, bound, gen));
}

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool has_bias) {
  const double bound = 1.0 / std::sqrt(double(in));
  weight = register_parameter("weight", uniform_init({out, in}, bound, gen));
  if (has_bias) bias = register_parameter("bias", uniform_init({out}, bound, gen));
}

BatchNorm2d::BatchNorm2d(int64_t channels, double m, double e) : momentum(m), eps(e) {
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (sync && sync->size() > 1 && training())
    return sync_batch_norm2d(x, weight, bias, running_mean, running_var, *sync, momentum, eps);
  return batch_norm2d(x, weight, bias, running_mean, running_var, training(), momentum, eps);
}

int64_t sync_batch_norms(Module& m, std::shared_ptr<Collective> group) {
  int64_t n = 0;
  m.apply([&](Module& sub) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&sub)) {
      bn->sync = group;
      ++n;
    }
  });
  return n;
}

GroupNorm::GroupNorm(int64_t g, int64_t channels, double e) : groups(g), eps(e) {
  SDKD_CHECK(g >= 1 && channels % g == 0, "GroupNorm: ", channels, " channels not divisible into ", g, " groups");
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
}

LayerNorm::LayerNorm(int64_t dim, double e) : eps(e) {
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
}

}  // namespace sdkd::nn
