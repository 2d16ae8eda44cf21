// BatchNorm2d, GroupNorm and LayerNorm as autograd ops: one forward path and one backward node
// for every device and norm kind, over the backends' two entry points (cpu::norm_forward /
// norm_backward and their float32 CUDA twins), which take the same NormShape and buffers
// (kernels/common/norm_shape.hpp) and overwrite their outputs.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <type_traits>

#include "dispatch.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cuda/norm.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/collective.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void check_affine(const Tensor& p, int64_t C, const char* what, const char* op) {
  if (!p.defined()) return;
  SDKD_CHECK(p.dim() == 1 && p.size(0) == C, op, ": ", what, " must have shape [", C, "], got ", shape_str(p.shape()));
}

using kern::NormKind;
using kern::NormShape;

// Every tensor argument must live on x's device; on CUDA they must all be float32 too.
void check_devices(const Tensor& x, std::initializer_list<const Tensor*> others, const char* op) {
  for (const Tensor* t : others) detail::require_same_device(x, *t, op);
  if (!detail::on_cuda(x)) return;
  detail::require_f32_on_cuda(x, op);
  for (const Tensor* t : others)
    if (t->defined()) detail::require_f32_on_cuda(*t, op);
}

// The running buffers are read and updated in place through their data pointers.
void check_buffer(const Tensor& b, const char* what, const char* op) {
  if (!b.defined()) return;
  SDKD_CHECK(b.is_contiguous(), op, ": ", what, " must be contiguous (it is updated in place), got ", b.str());
}

template <class T>
T* mut_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The backend of x's device: both take the same shape and buffers. On CUDA everything is
// float32 (check_devices), so only the float instance can reach the CUDA kernels.
template <class T>
void forward_on(const Tensor& x, const NormShape& s, const kern::NormForwardArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (detail::on_cuda(x)) return SDKD_CUDA_ONLY(gpu::norm_forward(detail::cuda_context(x), s, a));
  cpu::norm_forward<T>(s, a);
}

template <class T>
void backward_on(const Tensor& x, const NormShape& s, const kern::NormBackwardArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (detail::on_cuda(x)) return SDKD_CUDA_ONLY(gpu::norm_backward(detail::cuda_context(x), s, a));
  cpu::norm_backward<T>(s, a);
}

void run_forward(const NormShape& s, const Tensor& x, const Tensor& g, const Tensor& b, Tensor& y, Tensor& mean,
                 Tensor& invstd, Tensor& running_mean, Tensor& running_var) {
  SDKD_DISPATCH(x.dtype(), T, {
    kern::NormForwardArgs<T> a;
    a.x = x.data<T>();
    a.gamma = ptr_or_null<T>(g);
    a.beta = ptr_or_null<T>(b);
    a.y = y.data<T>();
    a.mean = mut_or_null<double>(mean);
    a.invstd = mut_or_null<double>(invstd);
    a.running_mean = mut_or_null<T>(running_mean);
    a.running_var = mut_or_null<T>(running_var);
    forward_on<T>(x, s, a);
  });
}

// Saves x, the affine weight and the per-group statistics (float64 on every device and for
// every dtype, as the forward computed them). One node for every device and norm kind: the
// backend's norm_backward overwrites fresh dx / dgamma / dbeta buffers.
struct NormBackward : Node {
  NormShape shape;
  Tensor x, gamma, mean, invstd;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    detail::require_same_device(x, g, name());
    if (detail::on_cuda(x)) detail::require_f32_on_cuda(g, name());
    const bool need_x = inputs[0].requires_grad();
    const bool need_w = inputs[1].defined() && inputs[1].requires_grad();
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
    const Device dev = x.device();
    Tensor dx = need_x ? make_tensor(x.shape(), x.dtype(), dev) : Tensor();
    Tensor dgamma = need_w ? make_tensor({shape.affine_size()}, x.dtype(), dev) : Tensor();
    Tensor dbeta = need_b ? make_tensor({shape.affine_size()}, x.dtype(), dev) : Tensor();
    SDKD_DISPATCH(x.dtype(), T, {
      kern::NormBackwardArgs<T> a;
      a.dy = g.data<T>();
      a.x = x.data<T>();
      a.gamma = ptr_or_null<T>(gamma);
      a.mean = mean.defined() ? mean.data<double>() : nullptr;
      a.invstd = invstd.data<double>();
      a.dx = mut_or_null<T>(dx);
      a.dgamma = mut_or_null<T>(dgamma);
      a.dbeta = mut_or_null<T>(dbeta);
      backward_on<T>(x, shape, a);
    });
    return {dx, dgamma, dbeta};
  }
  const char* name() const override { return "NormBackward"; }
};

Tensor finish(Tensor out, const NormShape& shape, const Tensor& x_in, const Tensor& x, const Tensor& gamma,
              const Tensor& beta, Tensor mean, Tensor invstd) {
  if (needs_grad({&x_in, &gamma, &beta})) {
    auto node = std::make_shared<NormBackward>();
    node->inputs = {x_in, gamma, beta};
    node->shape = shape;
    node->x = x.detach();
    node->gamma = gamma.defined() ? gamma.detach().contiguous() : Tensor();
    node->mean = mean;
    node->invstd = invstd;
    record(out, node);
  }
  return out;
}

struct NCHW {
  int64_t N, C, HW;
};
NCHW nchw(const Tensor& x, const char* op) {
  SDKD_CHECK(x.dim() >= 2, op, ": expected (N, C, ...) input, got ", x.str());
  return {x.size(0), x.size(1), x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)};
}

// batch_norm2d's and sync_batch_norm2d's tensor arguments: devices, per-channel shapes, buffers.
NCHW check_batch_norm_args(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, const char* op) {
  detail::require_defined(x, op);
  check_devices(x, {&gamma, &beta, &running_mean, &running_var}, op);
  const NCHW d = nchw(x, op);
  check_affine(gamma, d.C, "weight", op);
  check_affine(beta, d.C, "bias", op);
  check_affine(running_mean, d.C, "running_mean", op);
  check_affine(running_var, d.C, "running_var", op);
  check_buffer(running_mean, "running_mean", op);
  check_buffer(running_var, "running_var", op);
  return d;
}

// The CPU kernels check eps themselves; the CUDA ones take it on trust.
void check_eps_for_cuda(const Tensor& x, double eps, const char* op) {
  if (detail::on_cuda(x)) SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
}

}  // namespace

Tensor batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm2d";
  const auto [N, C, HW] = check_batch_norm_args(x_in, gamma, beta, running_mean, running_var, op);
  check_eps_for_cuda(x_in, eps, op);
  const NormShape shape{NormKind::batch, N, C, HW, 1, eps, training, momentum};
  const Device dev = x_in.device();
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor invstd = make_tensor({C}, DType::f64, dev);
  if (!training) {
    SDKD_CHECK(running_mean.defined() && running_var.defined(), op, ": eval mode needs running statistics");
    Tensor no_mean;
    run_forward(shape, x, g, b, out, no_mean, invstd, running_mean, running_var);
    if (!needs_grad({&x_in, &gamma, &beta})) return out;
    // The eval-mode node: the running mean, copied (a later training step updates the buffer
    // in place), and the eval invstd the forward wrote, both in double.
    const Tensor mean = running_mean.detach().to(DType::f64);
    return finish(out, shape, x_in, x, g, b, mean, invstd);
  }
  SDKD_CHECK(N * HW > 1, op, ": training mode needs more than one value per channel, got input ", shape_str(x.shape()));
  Tensor mean = make_tensor({C}, DType::f64, dev);
  run_forward(shape, x, g, b, out, mean, invstd, running_mean, running_var);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

// ---- sync_batch_norm2d (sdkd/collective.hpp) ----
//
// The fused BatchNorm kernels with this rank's statistics, then per-channel corrections to the
// group's, so the group of one is batch_norm2d bit for bit and the corrections are small where
// the ranks' batches agree. With local (m_l, is_l) and global (m, is) mean and 1/sqrt(var + eps),
// r = is / is_l:
//   forward:  y = r y_l + beta (1 - r) + gamma is (m_l - m);
//   backward: the kernel's dx_l with local statistics, then dx = r dx_l + d x + e, where d and e
//   (double, on the host) exchange the local batch-statistic terms for the global ones, built
//   from the group's sum(dy) and sum(dy (x - m)) (one all-reduce of 2 C numbers).
// The group combines (count, mean, M2) per channel in double with Chan et al.'s pairwise formula
// (no cancellation). dgamma and dbeta are this rank's sums against the global statistics (the
// gradient reducer adds the ranks').
namespace {

std::vector<double> host_values(const Tensor& t) { return t.to_double_vector(); }

Tensor channel_tensor(const std::vector<double>& v, DType dt, Device dev, bool broadcast4) {
  Tensor t = Tensor::from_vector(v, {int64_t(v.size())});
  if (broadcast4) t = t.reshape({1, int64_t(v.size()), 1, 1});
  return t.to(dt).to(dev);
}

// y <- a y + m x + b per channel of a fresh contiguous (N, C, H, W) tensor y (x undefined: no
// x term): one in-place pass on the CPU; on CUDA, composed of the elementwise ops.
void channel_affine(Tensor& y, const Tensor& x, const std::vector<double>& a, const std::vector<double>& m,
                    const std::vector<double>& b) {
  const int64_t N = y.size(0), C = y.size(1), HW = y.numel() / std::max<int64_t>(N * C, 1);
  if (!detail::on_cuda(y)) {
    SDKD_DISPATCH(y.dtype(), T, {
      cpu::channel_affine<T>(y.data<T>(), x.defined() ? x.data<T>() : nullptr, N, C, HW, a.data(), m.data(), b.data());
    });
    return;
  }
  Tensor r = mul(y, channel_tensor(a, y.dtype(), y.device(), true));
  if (x.defined()) r = add(r, mul(x, channel_tensor(m, y.dtype(), y.device(), true)));
  y = add(r, channel_tensor(b, y.dtype(), y.device(), true));
}

struct SyncStats {
  double n = 0;                                  // the group's values per channel
  std::vector<double> mean, invstd;              // global
  std::vector<double> local_mean, local_invstd;  // this rank's, as the kernel computed them
};

struct SyncNormBackward : Node {
  NormShape shape;            // training mode, this rank's batch
  Tensor x, gamma, mean_l, invstd_l;  // what the kernel saved (float64)
  SyncStats st;
  Collective* group = nullptr;  // outlives the graph
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    detail::require_same_device(x, g, name());
    const Device dev = x.device();
    const int64_t C = shape.C;
    const bool need_x = inputs[0].requires_grad();
    const bool need_w = inputs[1].defined() && inputs[1].requires_grad();
    const bool need_b = inputs[2].defined() && inputs[2].requires_grad();
    Tensor dx_l = need_x ? make_tensor(x.shape(), x.dtype(), dev) : Tensor();
    Tensor dg_l = make_tensor({C}, x.dtype(), dev), db_l = make_tensor({C}, x.dtype(), dev);
    SDKD_DISPATCH(x.dtype(), T, {
      kern::NormBackwardArgs<T> a;
      a.dy = g.data<T>();
      a.x = x.data<T>();
      a.gamma = ptr_or_null<T>(gamma);
      a.mean = mean_l.data<double>();
      a.invstd = invstd_l.data<double>();
      a.dx = mut_or_null<T>(dx_l);
      a.dgamma = dg_l.data<T>();
      a.dbeta = db_l.data<T>();
      backward_on<T>(x, shape, a);
    });
    if (group->size() == 1)  // alone: the kernel's gradients are the answer (batch_norm2d's)
      return {dx_l, need_w ? dg_l : Tensor(), need_b ? db_l : Tensor()};
    // This rank's sum(dy) and sum(dy (x - m)) against the global mean, then the group's.
    const std::vector<double> s1 = host_values(db_l), s2 = host_values(dg_l);
    const double n_l = double(shape.N * shape.HW);
    std::vector<double> local(size_t(2 * C));
    for (int64_t c = 0; c < C; ++c) {
      const size_t k = size_t(c);
      local[k] = s1[k];
      local[size_t(C) + k] = s2[k] / st.local_invstd[k] + (st.local_mean[k] - st.mean[k]) * s1[k];
    }
    Tensor sums = Tensor::from_vector(local, {2 * C});
    group->all_reduce_sum(sums);
    const std::vector<double> tot = host_values(sums);
    const std::vector<double> gm = gamma.defined() ? host_values(gamma) : std::vector<double>(size_t(C), 1.0);
    const size_t nc = static_cast<size_t>(C);
    std::vector<double> r(nc), d(nc), e(nc), dgamma(nc), dbeta(nc);
    for (int64_t c = 0; c < C; ++c) {
      const size_t k = size_t(c);
      const double is = st.invstd[k], isl = st.local_invstd[k], kg = gm[k] * is, kl = gm[k] * isl;
      const double c1l = -kl * isl * isl * (s2[k] / isl) / n_l, c0l = -kl * s1[k] / n_l;
      const double c1g = -kg * is * is * tot[size_t(C) + k] / st.n, c0g = -kg * tot[k] / st.n;
      r[k] = is / isl;
      d[k] = c1g - r[k] * c1l;
      e[k] = r[k] * c1l * st.local_mean[k] - c1g * st.mean[k] - r[k] * c0l + c0g;
      dgamma[k] = local[size_t(C) + k] * is;
      dbeta[k] = s1[k];
    }
    if (need_x) channel_affine(dx_l, x, r, d, e);
    return {dx_l, need_w ? channel_tensor(dgamma, x.dtype(), dev, false) : Tensor(),
            need_b ? channel_tensor(dbeta, x.dtype(), dev, false) : Tensor()};
  }
  const char* name() const override { return "SyncNormBackward"; }
};

}  // namespace

Tensor sync_batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, Collective& group, double momentum, double eps) {
  const char* op = "sync_batch_norm2d";
  SDKD_CHECK(x_in.defined() && x_in.dim() == 4, op, ": expected x (N, C, H, W), got ",
             x_in.defined() ? x_in.str() : "an undefined tensor");
  const auto [N, C, HW] = check_batch_norm_args(x_in, gamma, beta, running_mean, running_var, op);
  SDKD_CHECK(std::isfinite(eps) && eps >= 0, op, ": eps must be finite and >= 0, got ", eps);
  SDKD_CHECK(N * HW >= 1, op, ": every rank needs at least one value per channel, got input ", x_in.str());
  const Device dev = x_in.device();
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const int R = group.size(), rank = group.rank();
  // This rank's batch through the fused kernel; alone in its group it is batch_norm2d itself.
  const NormShape shape{NormKind::batch, N, C, HW, 1, eps, true, momentum};
  Tensor out = make_tensor(x.shape(), x.dtype(), dev), none;
  Tensor mean_l = make_tensor({C}, DType::f64, dev), invstd_l = make_tensor({C}, DType::f64, dev);
  run_forward(shape, x, g, b, out, mean_l, invstd_l, R == 1 ? running_mean : none, R == 1 ? running_var : none);
  SyncStats st;
  st.local_mean = host_values(mean_l);
  st.local_invstd = host_values(invstd_l);
  // Every rank's (mean, M2, count) in its own slot; summed, every rank holds all of them.
  const double n_l = double(N * HW);
  const size_t stride = size_t(2 * C + 1);
  std::vector<double> slots(size_t(R) * stride, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    const double isl = st.local_invstd[size_t(c)];
    slots[size_t(rank) * stride + size_t(c)] = st.local_mean[size_t(c)];
    slots[size_t(rank) * stride + size_t(C + c)] = std::max(1.0 / (isl * isl) - eps, 0.0) * n_l;
  }
  slots[size_t(rank) * stride + size_t(2 * C)] = n_l;
  if (R > 1) {
    Tensor t = Tensor::from_vector(slots, {int64_t(slots.size())});
    group.all_reduce_sum(t);
    slots = host_values(t);
  }
  for (int q = 0; q < R; ++q) st.n += slots[size_t(q) * stride + size_t(2 * C)];
  SDKD_CHECK(st.n > 1, op, ": training mode needs more than one value per channel over the group, got ", st.n);
  st.mean.assign(size_t(C), 0.0);
  st.invstd.assign(size_t(C), 0.0);
  std::vector<double> var(size_t(C), 0.0);
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, m2 = 0;
    for (int q = 0; q < R; ++q) s += slots[size_t(q) * stride + size_t(2 * C)] * slots[size_t(q) * stride + size_t(c)];
    const double m = s / st.n;
    for (int q = 0; q < R; ++q) {
      const double dq = slots[size_t(q) * stride + size_t(c)] - m;
      m2 += slots[size_t(q) * stride + size_t(C + c)] + slots[size_t(q) * stride + size_t(2 * C)] * dq * dq;
    }
    st.mean[size_t(c)] = m;
    var[size_t(c)] = m2 / st.n;
    st.invstd[size_t(c)] = R == 1 ? st.local_invstd[size_t(c)] : 1.0 / std::sqrt(var[size_t(c)] + eps);
  }
  if (R > 1) {
    const std::vector<double> gm = g.defined() ? host_values(g) : std::vector<double>(size_t(C), 1.0);
    const std::vector<double> bt = b.defined() ? host_values(b) : std::vector<double>(size_t(C), 0.0);
    std::vector<double> a(static_cast<size_t>(C)), sh(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const size_t k = size_t(c);
      a[k] = st.invstd[k] / st.local_invstd[k];
      sh[k] = bt[k] * (1.0 - a[k]) + gm[k] * st.invstd[k] * (st.local_mean[k] - st.mean[k]);
    }
    channel_affine(out, Tensor(), a, std::vector<double>(size_t(C), 0.0), sh);
    NoGradGuard ng;
    if (running_mean.defined()) {
      std::vector<double> v = host_values(running_mean);
      for (int64_t c = 0; c < C; ++c) v[size_t(c)] = (1.0 - momentum) * v[size_t(c)] + momentum * st.mean[size_t(c)];
      running_mean.copy_(channel_tensor(v, running_mean.dtype(), dev, false));
    }
    if (running_var.defined()) {
      std::vector<double> v = host_values(running_var);
      for (int64_t c = 0; c < C; ++c)
        v[size_t(c)] = (1.0 - momentum) * v[size_t(c)] + momentum * var[size_t(c)] * st.n / (st.n - 1.0);
      running_var.copy_(channel_tensor(v, running_var.dtype(), dev, false));
    }
  }
  if (!needs_grad({&x_in, &gamma, &beta})) return out;
  auto node = std::make_shared<SyncNormBackward>();
  node->inputs = {x_in, gamma, beta};
  node->shape = shape;
  node->x = x.detach();
  node->gamma = g.defined() ? g.detach() : Tensor();
  node->mean_l = mean_l;
  node->invstd_l = invstd_l;
  node->st = std::move(st);
  node->group = &group;
  return record(out, node);
}

Tensor group_norm(const Tensor& x_in, int64_t groups, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "group_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  const auto [N, C, HW] = nchw(x_in, op);
  SDKD_CHECK(groups >= 1 && C % groups == 0, op, ": ", C, " channels are not divisible into ", groups, " groups");
  check_affine(gamma, C, "weight", op);
  check_affine(beta, C, "bias", op);
  check_eps_for_cuda(x_in, eps, op);
  const NormShape shape{NormKind::group, N, C, HW, groups, eps};
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({shape.stats_size()}, DType::f64, dev), invstd = make_tensor({shape.stats_size()}, DType::f64, dev);
  Tensor no_running;
  run_forward(shape, x, g, b, out, mean, invstd, no_running, no_running);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

Tensor layer_norm(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  detail::require_defined(x_in, op);
  check_devices(x_in, {&gamma, &beta}, op);
  SDKD_CHECK(x_in.dim() >= 1, op, ": needs at least one dimension");
  const int64_t D = x_in.size(-1), rows = x_in.numel() / std::max<int64_t>(D, 1);
  check_affine(gamma, D, "weight", op);
  check_affine(beta, D, "bias", op);
  check_eps_for_cuda(x_in, eps, op);
  // Rows of D values: N = rows, C = 1, HW = D (kernels/common/norm_shape.hpp).
  const NormShape shape{NormKind::layer, rows, 1, D, 1, eps};
  const Tensor x = x_in.contiguous();
  const Tensor g = gamma.defined() ? gamma.contiguous() : Tensor(), b = beta.defined() ? beta.contiguous() : Tensor();
  const Device dev = x.device();
  Tensor out = make_tensor(x.shape(), x.dtype(), dev);
  Tensor mean = make_tensor({rows}, DType::f64, dev), invstd = make_tensor({rows}, DType::f64, dev);
  Tensor no_running;
  run_forward(shape, x, g, b, out, mean, invstd, no_running, no_running);
  return finish(out, shape, x_in, x, g, b, mean, invstd);
}

}  // namespace sdkd
