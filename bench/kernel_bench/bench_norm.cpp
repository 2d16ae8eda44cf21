// BatchNorm2d (training mode), GroupNorm and LayerNorm: forward alone and forward + backward,
// on the models' shapes. CPU rows are validated against the textbook formulas in double
// (NormRef below), GPU rows against the CPU op on the same inputs. Yardstick: cuDNN's batch norm
// on the GPU; GroupNorm and LayerNorm have no kernel in cuDNN's classic API ("-").
// Memory-bound: the roofline is minimal DRAM traffic, 2 passes of 4 bytes per element forward
// (read x, write y) and 5 for forward + backward (also read dy and x, write dx).
#include <cmath>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "bench/kernel_bench/vendor.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::bench {

namespace {

using shapes::NormKind;

// Statistics accumulate in double on both sides; what remains is fp32 rounding of x - mean and
// of the products, a few ulps of values of size ~5. Gradients of gamma and beta are sums of up
// to 409600 fp32 terms (possibly in a different order on the GPU), hence the looser bound.
constexpr double kTolY = 1e-5, kTolDx = 1e-4, kTolParam = 1e-3;

Shape x_shape(const shapes::Norm& s) {
  if (s.kind == NormKind::layer) return {s.d1, s.d2, s.d3};
  return {s.d0, s.d1, s.d2, s.d3};
}
int64_t channels(const shapes::Norm& s) { return s.kind == NormKind::layer ? s.d3 : s.d1; }

// The formulas in double: every element belongs to one statistics group and one affine channel.
//   y = gamma (x - mean) invstd + beta,   invstd = 1 / sqrt(biased var + eps),
//   dx = invstd / M (M dxh - sum dxh - xh sum dxh xh),  dxh = dy gamma,  xh = (x - mean) invstd.
struct NormRef {
  std::vector<double> y, dx, dgamma, dbeta;
};
NormRef norm_ref(const shapes::Norm& s, const std::vector<float>& x, const std::vector<float>& gamma,
                 const std::vector<float>& beta, const std::vector<float>& dy) {
  const int64_t n = int64_t(x.size()), C = channels(s);
  int64_t groups = 0;
  std::vector<int64_t> grp(static_cast<size_t>(n)), ch(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (s.kind == NormKind::layer) {
      grp[i] = i / s.d3, ch[i] = i % s.d3;
    } else {
      const int64_t hw = s.d2 * s.d3, c = (i / hw) % s.d1, b = i / (hw * s.d1);
      ch[i] = c;
      grp[i] = s.kind == NormKind::batch ? c : b * s.groups + c / (s.d1 / s.groups);
    }
    groups = std::max(groups, grp[i] + 1);
  }
  std::vector<double> sum(groups), sq(groups), cnt(groups);
  for (int64_t i = 0; i < n; ++i) sum[grp[i]] += x[i], cnt[grp[i]] += 1;
  for (int64_t g = 0; g < groups; ++g) sum[g] /= cnt[g];  // now the mean
  for (int64_t i = 0; i < n; ++i) sq[grp[i]] += (x[i] - sum[grp[i]]) * (x[i] - sum[grp[i]]);
  std::vector<double> invstd(groups);
  for (int64_t g = 0; g < groups; ++g) invstd[g] = 1 / std::sqrt(sq[g] / cnt[g] + 1e-5);
  NormRef r;
  r.y.resize(n), r.dx.resize(n), r.dgamma.assign(C, 0), r.dbeta.assign(C, 0);
  std::vector<double> xh(n), s1(groups), s2(groups);
  for (int64_t i = 0; i < n; ++i) {
    xh[i] = (x[i] - sum[grp[i]]) * invstd[grp[i]];
    r.y[i] = gamma[ch[i]] * xh[i] + beta[ch[i]];
    const double dxh = double(dy[i]) * gamma[ch[i]];
    r.dgamma[ch[i]] += dy[i] * xh[i];
    r.dbeta[ch[i]] += dy[i];
    s1[grp[i]] += dxh, s2[grp[i]] += dxh * xh[i];
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = grp[i];
    const double dxh = double(dy[i]) * gamma[ch[i]];
    r.dx[i] = invstd[g] / cnt[g] * (cnt[g] * dxh - s1[g] - xh[i] * s2[g]);
  }
  return r;
}

struct State {
  Tensor x, gamma, beta, rm, rv, dy, y;
  // cuDNN's outputs
  Tensor y2, mean2, invstd2, dx2, dgamma2, dbeta2;
  std::unique_ptr<vendor::CudnnBatchNorm> dnn;
};

Tensor apply(const shapes::Norm& s, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& rm, Tensor& rv) {
  switch (s.kind) {
    case NormKind::batch: return batch_norm2d(x, gamma, beta, rm, rv, true);
    case NormKind::group: return group_norm(x, s.groups, gamma, beta);
    case NormKind::layer: return layer_norm(x, gamma, beta);
  }
  return Tensor();
}

// Forward (and, with backward, the gradients) of fresh leaves made from the given tensors:
// {y} or {y, dx, dgamma, dbeta}.
std::vector<Tensor> outputs(const shapes::Norm& s, bool backward, const Tensor& x, const Tensor& gamma,
                            const Tensor& beta, const Tensor& dy) {
  Tensor xx = x.detach(), gg = gamma.detach(), bb = beta.detach();
  Tensor rm = Tensor::zeros({channels(s)}, DType::f32, x.device()), rv = Tensor::ones({channels(s)}, DType::f32, x.device());
  for (Tensor* t : {&xx, &gg, &bb}) t->set_requires_grad(backward);
  Tensor y = apply(s, xx, gg, bb, rm, rv);
  if (!backward) return {y};
  y.backward(dy);
  return {y, xx.grad(), gg.grad(), bb.grad()};
}

Prepared prepare(const shapes::Norm& s, bool backward, Device dev) {
  const Shape shape = x_shape(s);
  const int64_t C = channels(s);
  const Tensor x = add_scalar(host_randn(shape, 31, 2.0), 0.5).detach();
  const Tensor gamma = add_scalar(host_randn({C}, 32, 0.1), 1.0).detach(), beta = host_randn({C}, 33, 0.1);
  const Tensor dy = host_randn(shape, 34);
  auto st = std::make_shared<State>();
  st->x = x.to(dev), st->gamma = gamma.to(dev), st->beta = beta.to(dev), st->dy = dy.to(dev);
  st->rm = Tensor::zeros({C}, DType::f32, dev), st->rv = Tensor::ones({C}, DType::f32, dev);
  Prepared p;
  p.bytes = (backward ? 5.0 : 2.0) * 4.0 * double(x.numel());
  p.bound = Bound::memory;
  if (backward) {
    p.ours.before = [st] {
      for (Tensor* t : {&st->x, &st->gamma, &st->beta}) t->zero_grad(), t->set_requires_grad(true);
    };
    p.ours.run = [st, s] { apply(s, st->x, st->gamma, st->beta, st->rm, st->rv).backward(st->dy); };
  } else {
    p.ours.run = [st, s] { st->y = apply(s, st->x, st->gamma, st->beta, st->rm, st->rv); };
  }
  const char* names[] = {"y", "dx", "dgamma", "dbeta"};
  const double tols[] = {kTolY, kTolDx, kTolParam, kTolParam};
  if (dev.is_cpu()) {
    p.reference = "norm formulas in double";
    p.validate = [=] {
      const NormRef r = norm_ref(s, x.to_float_vector(), gamma.to_float_vector(), beta.to_float_vector(),
                                 dy.to_float_vector());
      const std::vector<Tensor> got = outputs(s, backward, x, gamma, beta, dy);
      const std::vector<const std::vector<double>*> refs = {&r.y, &r.dx, &r.dgamma, &r.dbeta};
      std::vector<Check> checks;
      for (size_t i = 0; i < got.size(); ++i) checks.push_back(compare(got[i].to_double_vector(), *refs[i], tols[i], names[i]));
      return worst(checks);
    };
  } else {
    p.reference = "CPU twin";
    p.validate = [=] {
      const std::vector<Tensor> got = outputs(s, backward, st->x, st->gamma, st->beta, st->dy);
      const std::vector<Tensor> ref = outputs(s, backward, x, gamma, beta, dy);
      std::vector<Check> checks;
      for (size_t i = 0; i < got.size(); ++i) checks.push_back(compare(got[i], ref[i], tols[i], names[i]));
      return worst(checks);
    };
  }
  if (dev.is_cpu() || s.kind != NormKind::batch) {
    p.yardstick_note = "-";
    return p;
  }
  if (!vendor::cudnn_missing().empty()) {
    p.yardstick_note = vendor::cudnn_missing();
    return p;
  }
  st->dnn = std::make_unique<vendor::CudnnBatchNorm>(s.d0, s.d1, s.d2, s.d3);
  for (Tensor* t : {&st->y2, &st->dx2}) *t = Tensor::empty(shape, DType::f32, dev);
  for (Tensor* t : {&st->mean2, &st->invstd2, &st->dgamma2, &st->dbeta2}) *t = Tensor::empty({C}, DType::f32, dev);
  p.yardstick_name = "cuDNN";
  p.yardstick.run = [st, backward] {
    st->dnn->forward(st->x.data<float>(), st->gamma.data<float>(), st->beta.data<float>(), st->y2.data<float>(),
                     st->rm.data<float>(), st->rv.data<float>(), st->mean2.data<float>(), st->invstd2.data<float>());
    if (backward)
      st->dnn->backward(st->x.data<float>(), st->dy.data<float>(), st->gamma.data<float>(), st->dx2.data<float>(),
                        st->dgamma2.data<float>(), st->dbeta2.data<float>(), st->mean2.data<float>(),
                        st->invstd2.data<float>());
  };
  return p;
}

}  // namespace

// <kind>_fwd and <kind>_fwdbwd: the entry's stem names the kind.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Norm& s) {
  for (bool backward : {false, true})
    add_for_devices(out, o, e.stem + (backward ? "_fwdbwd" : "_fwd"), e,
                    [&s, backward](Device d) { return prepare(s, backward, d); });
  return {true, true};
}

}  // namespace sdkd::bench
