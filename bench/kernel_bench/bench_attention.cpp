// Softmax and fused multi-head attention (forward, forward + backward) on AlterNet's shapes.
// CPU rows are validated against a double-precision reference that forms the whole score
// matrix; GPU rows against the CPU op on the same inputs.
// Yardsticks: cuDNN's softmax on the GPU; for attention (cuDNN's fused attention exists only
// in its graph API) the same computation from unfused engine ops, matmul -> softmax -> matmul,
// on either device: what the fused kernel saves.
// FLOPs: forward 2 products of 2 N M d each per (batch, head); the backward recomputes the
// scores and does 4 more products (FlashAttention's count), so forward + backward = 7 products.
#include <cmath>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "bench/kernel_bench/vendor.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"

namespace sdkd::bench {

namespace {

// Softmax: exp and one division per entry, sums of <= 256 positive terms: fp32 rounding only.
constexpr double kTolSoftmax = 1e-5;
// Attention: fp32 dot products of d = 32 terms and online-softmax rescaling against double;
// the backward's gradients are sums over N = 256 rows of such products.
constexpr double kTolAttnFwd = 1e-4, kTolAttnBwd = 1e-3;

struct SoftmaxState {
  Tensor x, y, y2;
  std::unique_ptr<vendor::CudnnSoftmax> dnn;
};

Prepared prepare_softmax(const shapes::Softmax& s, Device dev) {
  const Tensor x = host_randn({s.rows, s.cols}, 41, 3.0);
  auto st = std::make_shared<SoftmaxState>();
  st->x = x.to(dev);
  Prepared p;
  p.bytes = 2.0 * 4.0 * double(x.numel());
  p.bound = Bound::memory;
  p.ours.run = [st] { st->y = softmax(st->x, -1); };
  if (dev.is_cpu()) {
    p.reference = "softmax in double";
    p.validate = [x, s] {
      const std::vector<float> xv = x.to_float_vector();
      std::vector<double> ref(xv.size());
      for (int64_t r = 0; r < s.rows; ++r) {
        double mx = -INFINITY, sum = 0;
        for (int64_t c = 0; c < s.cols; ++c) mx = std::max(mx, double(xv[r * s.cols + c]));
        for (int64_t c = 0; c < s.cols; ++c) sum += ref[r * s.cols + c] = std::exp(double(xv[r * s.cols + c]) - mx);
        for (int64_t c = 0; c < s.cols; ++c) ref[r * s.cols + c] /= sum;
      }
      return compare(softmax(x, -1).to_double_vector(), ref, kTolSoftmax, "y");
    };
    p.yardstick_note = "-";
    return p;
  }
  p.reference = "CPU twin";
  p.validate = [st, x] { return compare(softmax(st->x, -1), softmax(x, -1), kTolSoftmax, "y"); };
  if (!vendor::cudnn_missing().empty()) {
    p.yardstick_note = vendor::cudnn_missing();
    return p;
  }
  st->dnn = std::make_unique<vendor::CudnnSoftmax>(s.rows, s.cols);
  st->y2 = Tensor::empty({s.rows, s.cols}, DType::f32, dev);
  p.yardstick_name = "cuDNN";
  p.yardstick.run = [st] { st->dnn->forward(st->x.data<float>(), st->y2.data<float>()); };
  return p;
}

// o = softmax(q k^T / sqrt(d)) v and, given do, dq, dk, dv, all in double for every (b, h).
struct AttnRef {
  std::vector<double> o, dq, dk, dv;
};
AttnRef attention_ref(const shapes::Attention& s, const std::vector<float>& q, const std::vector<float>& k,
                      const std::vector<float>& v, const std::vector<float>& dout) {
  const int64_t BH = s.B * s.heads, N = s.N, d = s.d;
  const double scale = 1 / std::sqrt(double(d));
  AttnRef r;
  r.o.assign(q.size(), 0), r.dq.assign(q.size(), 0), r.dk.assign(k.size(), 0), r.dv.assign(v.size(), 0);
  std::vector<double> P(N * N), dP(N * N);
  for (int64_t bh = 0; bh < BH; ++bh) {
    const int64_t off = bh * N * d;
    for (int64_t i = 0; i < N; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < N; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += double(q[off + i * d + c]) * k[off + j * d + c];
        P[i * N + j] = dot * scale;
        mx = std::max(mx, P[i * N + j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < N; ++j) sum += P[i * N + j] = std::exp(P[i * N + j] - mx);
      for (int64_t j = 0; j < N; ++j) P[i * N + j] /= sum;
      for (int64_t j = 0; j < N; ++j)
        for (int64_t c = 0; c < d; ++c) r.o[off + i * d + c] += P[i * N + j] * v[off + j * d + c];
    }
    // dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ = s dS K, dK = s dS^T Q.
    for (int64_t i = 0; i < N; ++i) {
      double rs = 0;
      for (int64_t j = 0; j < N; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += double(dout[off + i * d + c]) * v[off + j * d + c];
        dP[i * N + j] = dot;
        rs += dot * P[i * N + j];
        for (int64_t c = 0; c < d; ++c) r.dv[off + j * d + c] += P[i * N + j] * dout[off + i * d + c];
      }
      for (int64_t j = 0; j < N; ++j) {
        const double dS = P[i * N + j] * (dP[i * N + j] - rs) * scale;
        for (int64_t c = 0; c < d; ++c) {
          r.dq[off + i * d + c] += dS * k[off + j * d + c];
          r.dk[off + j * d + c] += dS * q[off + i * d + c];
        }
      }
    }
  }
  return r;
}

struct AttnState {
  Tensor q, k, v, dout, o;
};

Tensor unfused(const Tensor& q, const Tensor& k, const Tensor& v) {
  const double scale = 1 / std::sqrt(double(q.size(-1)));
  return matmul(softmax(mul_scalar(matmul(q, k.transpose(-2, -1)), scale), -1), v);
}

// {o} or {o, dq, dk, dv} of fresh leaves made from the given tensors.
std::vector<Tensor> attn_outputs(bool backward, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout) {
  Tensor qq = q.detach(), kk = k.detach(), vv = v.detach();
  for (Tensor* t : {&qq, &kk, &vv}) t->set_requires_grad(backward);
  Tensor o = multi_head_attention(qq, kk, vv);
  if (!backward) return {o};
  o.backward(dout);
  return {o, qq.grad(), kk.grad(), vv.grad()};
}

Prepared prepare_attention(const shapes::Attention& s, bool backward, Device dev) {
  const Shape shape{s.B, s.heads, s.N, s.d};
  const Tensor q = host_randn(shape, 51), k = host_randn(shape, 52), v = host_randn(shape, 53), dout = host_randn(shape, 54);
  auto st = std::make_shared<AttnState>();
  st->q = q.to(dev), st->k = k.to(dev), st->v = v.to(dev), st->dout = dout.to(dev);
  Prepared p;
  p.flops = (backward ? 7.0 : 2.0) * 2.0 * s.B * s.heads * s.N * s.N * s.d;
  p.bound = Bound::fp32;
  auto timed = [backward, st](bool fused) {
    Timed t;
    if (backward)
      t.before = [st] {
        for (Tensor* x : {&st->q, &st->k, &st->v}) x->zero_grad(), x->set_requires_grad(true);
      };
    t.run = [st, backward, fused] {
      st->o = fused ? multi_head_attention(st->q, st->k, st->v) : unfused(st->q, st->k, st->v);
      if (backward) st->o.backward(st->dout);
    };
    return t;
  };
  p.ours = timed(true);
  p.yardstick = timed(false);
  p.yardstick_name = "unfused ops";
  const char* names[] = {"o", "dq", "dk", "dv"};
  const double tols[] = {kTolAttnFwd, kTolAttnBwd, kTolAttnBwd, kTolAttnBwd};
  if (dev.is_cpu()) {
    p.reference = "full score matrix in double";
    p.validate = [=] {
      const AttnRef r = attention_ref(s, q.to_float_vector(), k.to_float_vector(), v.to_float_vector(), dout.to_float_vector());
      const std::vector<Tensor> got = attn_outputs(backward, q, k, v, dout);
      const std::vector<const std::vector<double>*> refs = {&r.o, &r.dq, &r.dk, &r.dv};
      std::vector<Check> checks;
      for (size_t i = 0; i < got.size(); ++i) checks.push_back(compare(got[i].to_double_vector(), *refs[i], tols[i], names[i]));
      return worst(checks);
    };
  } else {
    p.reference = "CPU twin";
    p.validate = [=] {
      const std::vector<Tensor> got = attn_outputs(backward, st->q, st->k, st->v, st->dout);
      const std::vector<Tensor> ref = attn_outputs(backward, q, k, v, dout);
      std::vector<Check> checks;
      for (size_t i = 0; i < got.size(); ++i) checks.push_back(compare(got[i], ref[i], tols[i], names[i]));
      return worst(checks);
    };
  }
  return p;
}

}  // namespace

// softmax's forward; its backward gets the generic softmax_fwdbwd row.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Softmax& s) {
  add_for_devices(out, o, "softmax", e, [&s](Device d) { return prepare_softmax(s, d); });
  return {true, false};
}

Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e,
                             const shapes::Attention& s) {
  for (bool backward : {false, true})
    add_for_devices(out, o, backward ? "attention_fwdbwd" : "attention_fwd", e,
                    [&s, backward](Device d) { return prepare_attention(s, backward, d); });
  return {true, true};
}

}  // namespace sdkd::bench
