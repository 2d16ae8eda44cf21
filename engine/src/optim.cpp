#include "sdkd/optim.hpp"

#include <cmath>

#include "dispatch.hpp"
#include "kernels/cuda/optim.hpp"

namespace sdkd::optim {

Adam::Adam(std::vector<std::pair<std::string, Tensor>> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
  SDKD_CHECK(opt.lr >= 0, "Adam: learning rate must be >= 0, got ", opt.lr);
  SDKD_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1, "Adam: betas must be in [0, 1), got ",
             opt.beta1, ", ", opt.beta2);
  for (auto& [n, p] : params_) {
    detail::require_defined(p, "Adam");
    SDKD_CHECK(p.is_contiguous(), "Adam: parameter '", n, "' is not contiguous");
    SDKD_CHECK(p.device() == params_.front().second.device(), "Adam: parameter '", n, "' is on ",
               p.device().str(), " but '", params_.front().first, "' is on ", params_.front().second.device().str());
    if (detail::on_cuda(p)) detail::require_f32_on_cuda(p, "Adam");
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

// All parameters in one multi-tensor launch, with the CPU loop's arithmetic.
void Adam::step_cuda(double step_size, double inv_sqrt_bc2) {
  std::vector<gpu::AdamTensor> ts;
  [[maybe_unused]] Device dev;
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k].second;
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    SDKD_CHECK(g.is_contiguous() && g.device() == p.device(), "Adam: gradient of '", params_[k].first,
               "' must be contiguous on ", p.device().str());
    ts.push_back({p.data<float>(), g.data<float>(), m_[k].data<float>(), v_[k].data<float>(), p.numel()});
    dev = p.device();
  }
  if (ts.empty()) return;
  [[maybe_unused]] gpu::AdamScalars s{};
  s.beta1 = float(opt_.beta1);
  s.beta2 = float(opt_.beta2);
  s.one_minus_beta1 = float(1 - opt_.beta1);
  s.one_minus_beta2 = float(1 - opt_.beta2);
  s.step_size = float(step_size);
  s.inv_sqrt_bc2 = float(inv_sqrt_bc2);
  s.eps = float(opt_.eps);
  s.lr_wd = float(opt_.lr * opt_.weight_decay);
  s.wd = float(opt_.weight_decay);
  s.decoupled = opt_.decoupled;
  SDKD_CUDA_ONLY(gpu::adam_step(detail::cuda_context(dev), ts, s));
}

void Adam::step() {
  ++step_;
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  const double bc1 = 1 - std::pow(b1, double(step_)), bc2 = 1 - std::pow(b2, double(step_));
  const double step_size = opt_.lr / bc1, inv_sqrt_bc2 = 1 / std::sqrt(bc2);
  if (!params_.empty() && detail::on_cuda(params_.front().second)) {
    step_cuda(step_size, inv_sqrt_bc2);
    return;
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k].second;
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const int64_t n = p.numel();
    SDKD_DISPATCH(p.dtype(), T, {
      T* w = p.data<T>();
      const T* gr = g.data<T>();
      T* m = m_[k].data<T>();
      T* v = v_[k].data<T>();
      const T lr_wd = T(opt_.lr * opt_.weight_decay), wd = T(opt_.weight_decay);
      const bool decoupled = opt_.decoupled;
      // One fused pass: decay, moments, bias-corrected update (the CUDA twin does the same).
_Pragma("omp parallel for schedule(static) if (n > 65536)")
      for (int64_t i = 0; i < n; ++i) {
        T gi = gr[i];
        if (decoupled) w[i] -= lr_wd * w[i];
        else gi += wd * w[i];
        m[i] = T(b1) * m[i] + T(1 - b1) * gi;
        v[i] = T(b2) * v[i] + T(1 - b2) * gi * gi;
        const T denom = std::sqrt(v[i]) * T(inv_sqrt_bc2) + T(opt_.eps);
        w[i] -= T(step_size) * m[i] / denom;
      }
    });
  }
}

void Adam::zero_grad() {
  for (auto& [n, p] : params_) p.zero_grad();
}

std::map<std::string, Tensor> Adam::state_dict() const {
  std::map<std::string, Tensor> out;
  for (size_t k = 0; k < params_.size(); ++k) {
    out[params_[k].first + ".exp_avg"] = m_[k];
    out[params_[k].first + ".exp_avg_sq"] = v_[k];
  }
  out["step"] = Tensor::from_vector(std::vector<double>{double(step_)}, {1});
  return out;
}

void Adam::load_state_dict(const std::map<std::string, Tensor>& state) {
  auto get = [&](const std::string& key, const Tensor& like) {
    auto it = state.find(key);
    SDKD_CHECK(it != state.end(), "optimizer state: missing '", key, "'");
    SDKD_CHECK(it->second.shape() == like.shape(), "optimizer state: '", key, "' has shape ",
               shape_str(it->second.shape()), ", expected ", shape_str(like.shape()));
    return it->second;
  };
  for (size_t k = 0; k < params_.size(); ++k) {
    m_[k].copy_(get(params_[k].first + ".exp_avg", m_[k]));
    v_[k].copy_(get(params_[k].first + ".exp_avg_sq", v_[k]));
  }
  auto it = state.find("step");
  SDKD_CHECK(it != state.end() && it->second.numel() == 1, "optimizer state: missing 'step'");
  step_ = int64_t(it->second.item());
}

namespace {
// Gradients of CUDA parameters, as (pointer, size) pairs; empty when the parameters are on the CPU.
std::vector<std::pair<const float*, int64_t>> cuda_grads(const std::vector<Tensor>& params) {
  std::vector<std::pair<const float*, int64_t>> out;
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined() || !detail::on_cuda(g)) continue;
    SDKD_CHECK(g.is_contiguous(), "grad_norm: gradients must be contiguous");
    out.emplace_back(g.data<float>(), g.numel());
  }
  return out;
}
}  // namespace

double grad_norm(const std::vector<Tensor>& params) {
  double total = 0;
  if (const auto gs = cuda_grads(params); !gs.empty()) {
    Device dev;
    for (const auto& p : params)
      if (p.grad().defined()) dev = p.grad().device();
    SDKD_CUDA_ONLY(total = gpu::sq_norm(detail::cuda_context(dev), gs));
  }
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined() || detail::on_cuda(g)) continue;
    SDKD_DISPATCH(g.dtype(), T, {
      const T* pg = g.data<T>();
      for (int64_t i = 0; i < g.numel(); ++i) total += double(pg[i]) * double(pg[i]);
    });
  }
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  SDKD_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  const double norm = grad_norm(params);
  if (norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : params) {
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      if (detail::on_cuda(g)) {
        SDKD_CUDA_ONLY(gpu::scale_(detail::cuda_context(g), g.data<float>(), g.numel(), float(scale)));
        continue;
      }
      SDKD_DISPATCH(g.dtype(), T, {
        T* pg = g.data<T>();
        for (int64_t i = 0; i < g.numel(); ++i) pg[i] = T(double(pg[i]) * scale);
      });
    }
  }
  return norm;
}

}  // namespace sdkd::optim
