// Sum/mean over dimensions (double accumulators) and the pointwise losses.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "elementwise.hpp"
#include "kernels/common/pointwise_loss.hpp"
#include "kernels/cpu/reduce.hpp"
#include "kernels/cuda/reduce.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

struct SumBackward : Node {
  Shape in_shape, kept_shape;  // kept_shape: output with reduced dims as 1
  double scale = 1.0;
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor gk = g.reshape(kept_shape);
    if (scale != 1.0) gk = mul_scalar(gk, scale);
    return {expand(gk, in_shape)};
  }
  const char* name() const override { return "SumBackward"; }
};

// The CUDA sum: the kernel reduces the middle axis of a contiguous [outer, red, inner] array.
// When the reduced dims (size-1 dims aside) are adjacent, `a` is read as it lies; otherwise
// the reduced dims are first permuted together at the end (one strided copy), like the CPU.
void sum_cuda(const Tensor& a, const std::vector<int64_t>& dims, const std::vector<int64_t>& perm,
              [[maybe_unused]] Tensor& out, [[maybe_unused]] double scale) {
  detail::require_f32_on_cuda(a, "sum");
  int64_t outer = 1, red = 1, inner = 1;
  int state = 0;  // 0: before the reduced block, 1: inside it, 2: after it
  bool adjacent = true;
  for (int64_t d = 0; d < a.dim(); ++d) {
    if (a.size(d) == 1) continue;
    const bool r = std::binary_search(dims.begin(), dims.end(), d);
    if (r && state == 2) adjacent = false;
    if (r) state = 1;
    else if (state == 1) state = 2;
    (r ? red : state == 0 ? outer : inner) *= a.size(d);
  }
  Tensor src;
  {
    NoGradGuard ng;
    src = adjacent ? a.detach().contiguous() : a.detach().permute(perm).contiguous();
  }
  if (!adjacent) {
    outer *= inner;
    inner = 1;
  }
  SDKD_CUDA_ONLY(gpu::sum(detail::cuda_context(out), out.data<float>(), src.data<float>(), outer, red, inner, scale));
}

// Whether `shape` with the sorted reduced `dims` reads [reduced A][kept O][reduced R][kept I]
// once size-1 dims are dropped and neighbours of one kind merged (any block may be empty);
// then *b holds those sizes.
bool sum_layout(const Shape& shape, const std::vector<int64_t>& dims, cpu::SumBlocks* b) {
  int64_t size[4] = {1, 1, 1, 1};
  int slot = 0;  // 0: A (reduced), 1: O (kept), 2: R (reduced), 3: I (kept)
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool red = std::binary_search(dims.begin(), dims.end(), int64_t(d));
    while (slot < 4 && (slot % 2 == 0) != red) ++slot;  // the next block of this kind
    if (slot == 4) return false;
    size[slot] *= shape[d];
  }
  *b = cpu::SumBlocks{size[0], size[1], size[2], size[3]};
  // [reduced][kept] alone is column sums: rows of length O added together, not O strided sums.
  if (b->R == 1 && b->I == 1) *b = cpu::SumBlocks{1, 1, size[0], size[1]};
  return true;
}

// Sums of `a` over `dims` (kept dims in order), times `scale`.
Tensor reduce_sum(const Tensor& a, std::vector<int64_t> dims, bool keepdim, double scale) {
  detail::require_defined(a, "sum");
  for (auto& d : dims) d = detail::wrap_dim(d, a.dim(), "sum");
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  std::vector<int64_t> perm, kept;
  Shape out_shape, kept_shape;
  for (int64_t d = 0; d < a.dim(); ++d) {
    const bool red = std::binary_search(dims.begin(), dims.end(), d);
    if (!red) {
      perm.push_back(d);
      out_shape.push_back(a.size(d));
    } else if (keepdim) {
      out_shape.push_back(1);
    }
    kept_shape.push_back(red ? 1 : a.size(d));
  }
  perm.insert(perm.end(), dims.begin(), dims.end());
  Tensor out = make_tensor(out_shape, a.dtype(), a.device());
  if (detail::on_cuda(a)) {
    sum_cuda(a, dims, perm, out, scale);
  } else {
    // Summed where it lies when the layout reads [reduced][kept][reduced][kept]
    // (kernels/cpu/reduce.hpp: a bias gradient over N, H, W, column sums, row sums); other
    // layouts are permuted into [kept][reduced] first.
    cpu::SumBlocks blocks;
    Tensor src;
    {
      NoGradGuard ng;
      if (sum_layout(a.shape(), dims, &blocks)) {
        src = a.detach().contiguous();
      } else {
        src = a.detach().permute(perm).contiguous();
        const int64_t cols = std::accumulate(dims.begin(), dims.end(), int64_t(1),
                                             [&](int64_t m, int64_t d) { return m * a.size(d); });
        blocks = cpu::SumBlocks{1, shape_numel(out_shape), cols, 1};
      }
    }
    SDKD_DISPATCH(a.dtype(), T, cpu::sum_blocks<T>(src.data<T>(), blocks, scale, out.data<T>()));
  }
  if (needs_grad({&a})) {
    auto node = std::make_shared<SumBackward>();
    node->inputs = {a};
    node->in_shape = a.shape();
    node->kept_shape = kept_shape;
    node->scale = scale;
    record(out, node);
  }
  return out;
}

std::vector<int64_t> all_dims(const Tensor& a) {
  std::vector<int64_t> d(size_t(a.dim()));
  std::iota(d.begin(), d.end(), 0);
  return d;
}

int64_t count_over(const Tensor& a, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (auto d : dims) n *= a.size(d);
  return n;
}

}  // namespace

Tensor sum(const Tensor& a) { return reduce_sum(a, all_dims(a), false, 1.0); }
Tensor mean(const Tensor& a) {
  SDKD_CHECK(a.numel() > 0, "mean of an empty tensor ", a.str());
  return reduce_sum(a, all_dims(a), false, 1.0 / double(a.numel()));
}
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum(a, dims, keepdim, 1.0);
}
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  const int64_t n = count_over(a, dims);
  SDKD_CHECK(n > 0, "mean over an empty dimension of ", a.str());
  return reduce_sum(a, dims, keepdim, 1.0 / double(n));
}

namespace {

using kern::PointLoss;
using kern::PointLossParams;

// Fused pointwise loss: one pass, saves only the two inputs, gradient computed directly. The
// per-element formulas are kernels/common/pointwise_loss.hpp, shared with the CUDA kernels.
struct LossBackward : Node {
  PointLossParams loss;
  Tensor pred, target;
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t n = pred.numel();
    Tensor d = make_tensor(pred.shape(), pred.dtype(), pred.device());
    if (detail::on_cuda(pred)) {
      // g stays on the device: the kernel reads it, so the backward does not wait for the GPU.
      [[maybe_unused]] const Tensor gc = g.contiguous();
      SDKD_CUDA_ONLY(gpu::pointwise_loss_backward(detail::cuda_context(d), d.data<float>(), pred.data<float>(), target.data<float>(), n, loss,
                                                  gc.data<float>()));
    } else {
      const double gs = g.item() / double(n);
      SDKD_DISPATCH(pred.dtype(), T, {
        const T* p = pred.data<T>();
        const T* t = target.data<T>();
        T* o = d.data<T>();
        kern::visit_point_loss(loss.kind, [&]<PointLoss K>() {
_Pragma("omp parallel for schedule(static) if (n > 32768)")
          for (int64_t i = 0; i < n; ++i) o[i] = T(kern::point_loss_slope<K>(double(p[i]), double(t[i]), loss.margin) * gs);
        });
      });
    }
    const bool target_grad = kern::point_loss_has_target_grad(loss.kind) && inputs[1].requires_grad();
    return {inputs[0].requires_grad() ? d : Tensor(), target_grad ? neg(d) : Tensor()};
  }
  const char* name() const override { return "LossBackward"; }
};

Tensor pointwise_loss(const Tensor& pred, const Tensor& target, PointLossParams loss, const char* op) {
  detail::require_defined(pred, op);
  detail::require_defined(target, op);
  detail::require_same_device(pred, target, op);
  detail::require_same_dtype(pred, target, op);
  SDKD_CHECK(pred.shape() == target.shape(), op, ": prediction ", shape_str(pred.shape()),
             " and target ", shape_str(target.shape()), " must have the same shape");
  SDKD_CHECK(pred.numel() > 0, op, ": empty tensors");
  const Tensor p = pred.contiguous().detach(), t = target.contiguous().detach();
  const int64_t n = p.numel();
  Tensor out;
  if (detail::on_cuda(pred)) {
    detail::require_f32_on_cuda(pred, op);
    out = make_tensor({}, pred.dtype(), pred.device());
    SDKD_CUDA_ONLY(gpu::pointwise_loss(detail::cuda_context(out), out.data<float>(), p.data<float>(), t.data<float>(),
                                       n, loss));
  } else {
    double acc = 0;
    SDKD_DISPATCH(p.dtype(), T, {
      const T* a = p.data<T>();
      const T* b = t.data<T>();
      acc = kern::visit_point_loss(loss.kind, [&]<PointLoss K>() {
        return detail::blocked_sum(n, [&](int64_t i) { return kern::point_loss_term<K>(double(a[i]), double(b[i]), loss.margin); });
      });
    });
    out = Tensor::scalar(acc / double(n), pred.dtype());
  }
  const bool target_grad = kern::point_loss_has_target_grad(loss.kind);
  if (target_grad ? needs_grad({&pred, &target}) : needs_grad({&pred})) {
    auto node = std::make_shared<LossBackward>();
    node->inputs = {pred, target};
    node->loss = loss;
    node->pred = p;
    node->target = t;
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  return pointwise_loss(pred, target, {PointLoss::mse, 0.0}, "mse_loss");
}
Tensor l1_loss(const Tensor& pred, const Tensor& target) {
  return pointwise_loss(pred, target, {PointLoss::l1, 0.0}, "l1_loss");
}
Tensor ab_loss(const Tensor& student, const Tensor& teacher, double margin) {
  SDKD_CHECK(std::isfinite(margin) && margin >= 0, "ab_loss: margin ", margin, " must be finite and >= 0");
  return pointwise_loss(student, teacher, {PointLoss::ab, margin}, "ab_loss");
}

}  // namespace sdkd
