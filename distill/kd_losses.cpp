#include "distill/kd_losses.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/kd_losses.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::distill {

Tensor output_kd_loss(const Tensor& student_pred, const Tensor& teacher_pred) {
  SDKD_CHECK(student_pred.defined() && teacher_pred.defined(), "output_kd_loss: got an undefined tensor");
  return mse_loss(student_pred, teacher_pred.detach());
}

Tensor feature_mse_loss(const Tensor& student_feat, const Tensor& teacher_feat) {
  SDKD_CHECK(student_feat.defined() && teacher_feat.defined(), "feature_mse_loss: got an undefined tensor");
  return mse_loss(student_feat, teacher_feat.detach());
}

namespace {

// The engine's dispatch helpers are private to it, so the CUDA calls are guarded here: a
// CPU-only build has no kernels to link, and no CUDA tensor can reach these lines there.
#ifdef SDKD_WITH_CUDA
#define SDKD_AB_CUDA(...) __VA_ARGS__
#else
#define SDKD_AB_CUDA(...) throw Error("ab_loss: this build has no CUDA backend (configure with -DSDKD_CUDA=ON)")
#endif

// Per element: the hinge h = relu(mu - s) where the teacher fires (t > 0), relu(mu + s)
// otherwise; the loss term is h^2 and its derivative in s is -2h or +2h.
template <class T>
double ab_pass(const T* s, const T* t, T* grad, int64_t n, double mu, double grad_scale) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool fires = t[i] > T(0);
    const double h = std::max(0.0, fires ? mu - double(s[i]) : mu + double(s[i]));
    acc += h * h;
    if (grad != nullptr) grad[i] = T((fires ? -2.0 : 2.0) * h * grad_scale);
  }
  return acc;
}

struct ABBackward : Node {
  Tensor s, t;
  double mu = 1;
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!s.device().is_cpu()) {
      // g stays on the device: the kernel reads it, so the backward does not wait for the GPU.
      const Tensor gc = g.contiguous();
      Tensor d = make_tensor(s.shape(), s.dtype(), s.device());
      SDKD_AB_CUDA(gpu::ab_loss_backward(d.data<float>(), s.data<float>(), t.data<float>(), s.numel(), mu,
                                         gc.data<float>()));
      return {d};
    }
    Tensor d = make_tensor(s.shape(), s.dtype());
    const double scale = g.item() / double(s.numel());
    if (s.dtype() == DType::f32) ab_pass(s.data<float>(), t.data<float>(), d.data<float>(), s.numel(), mu, scale);
    else ab_pass(s.data<double>(), t.data<double>(), d.data<double>(), s.numel(), mu, scale);
    return {d};
  }
  const char* name() const override { return "ABBackward"; }
};

}  // namespace

Tensor ab_loss(const Tensor& student_feat, const Tensor& teacher_feat, double margin) {
  const char* op = "ab_loss";
  SDKD_CHECK(student_feat.defined() && teacher_feat.defined(), op, ": got an undefined tensor");
  SDKD_CHECK(student_feat.device() == teacher_feat.device(), op, ": tensors on different devices, ",
             student_feat.device().str(), " and ", teacher_feat.device().str(), " (move them with .to(device) first)");
  const bool on_gpu = !student_feat.device().is_cpu();
  SDKD_CHECK(!on_gpu || student_feat.dtype() == DType::f32, op, ": CUDA kernels take float32, got ",
             student_feat.str(), " (convert with .to(DType::f32) or run float64 on the CPU)");
  SDKD_CHECK(student_feat.dtype() == teacher_feat.dtype(), op, ": dtype mismatch, ", student_feat.str(), " vs ",
             teacher_feat.str());
  SDKD_CHECK(student_feat.shape() == teacher_feat.shape(), op, ": student ", shape_str(student_feat.shape()),
             " and teacher ", shape_str(teacher_feat.shape()), " must have the same shape");
  SDKD_CHECK(student_feat.numel() > 0, op, ": empty tensors");
  SDKD_CHECK(std::isfinite(margin) && margin >= 0, op, ": margin ", margin, " must be finite and >= 0");
  const Tensor s = student_feat.contiguous().detach(), t = teacher_feat.contiguous().detach();
  const int64_t n = s.numel();
  Tensor out;
  if (on_gpu) {
    out = make_tensor({}, s.dtype(), s.device());
    SDKD_AB_CUDA({
      const Tensor work = make_tensor({gpu::ab_loss_workspace(n)}, DType::f64, s.device());
      gpu::ab_loss(out.data<float>(), s.data<float>(), t.data<float>(), n, margin, work.data<double>());
    });
  } else {
    const double sum = s.dtype() == DType::f32
                           ? ab_pass<float>(s.data<float>(), t.data<float>(), nullptr, n, margin, 0)
                           : ab_pass<double>(s.data<double>(), t.data<double>(), nullptr, n, margin, 0);
    out = Tensor::scalar(sum / double(n), s.dtype());
  }
  if (needs_grad({&student_feat})) {
    auto node = std::make_shared<ABBackward>();
    node->inputs = {student_feat};
    node->s = s;
    node->t = t;
    node->mu = margin;
    record(out, node);
  }
  return out;
}

}  // namespace sdkd::distill
