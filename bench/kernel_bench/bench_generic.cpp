// The generic rows of a registry perf entry: its op through the public API, timed forward alone
// (<stem>_fwd, no gradient recorded) and forward + backward (<stem>_fwdbwd: the forward graph
// and the backward pass from a fixed random upstream gradient, the leaves' gradients zeroed
// untimed before each repeat).
// Validation: CPU rows against the same op computed in float64 on the CPU from the same (float32)
// inputs, GPU rows against the CPU twin (the same op on CPU float32 tensors); the output and every
// input gradient, max |ours - ref| / max |ref| within the entry's fwd_tol / grad_tol
// (perf_registry.cpp gives the family's bound and its reason).
// Rates: FLOPs from the registry's cost estimate (the backward counted as twice the forward: one
// product per operand for GEMM-like ops); bytes as the minimal traffic, forward = inputs read
// and the output written once, backward = the upstream gradient and the inputs read again and
// the input gradients written.
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "sdkd/autograd.hpp"

namespace sdkd::bench {

namespace {

struct State {
  std::vector<Tensor> x;
  Tensor g, y;
};

double numel_sum(const std::vector<Tensor>& ts, const PerfCase& e, bool differentiable_only) {
  double n = 0;
  for (size_t k = 0; k < ts.size(); ++k)
    if (!differentiable_only || e.inputs[k].differentiable) n += double(ts[k].numel());
  return n;
}

Prepared prepare(const PerfCase& e, bool backward, Device dev) {
  const std::vector<Tensor> host = test::ops::make_inputs(e, DType::f32);
  auto st = std::make_shared<State>();
  for (const Tensor& t : host) st->x.push_back(t.to(dev));
  // One untimed forward sizes the upstream gradient and the cost.
  Tensor y0;
  {
    NoGradGuard ng;
    y0 = e.fn(st->x);
  }
  const Tensor g = host_randn(y0.shape(), 91);
  st->g = g.to(dev);

  Prepared p;
  test::ops::Shapes in_shapes;
  for (const Tensor& t : host) in_shapes.push_back(t.shape());
  const double fwd_flops = e.cost ? e.cost(in_shapes, y0.shape()) : 0;
  const double fwd_bytes = 4.0 * (numel_sum(host, e, false) + double(y0.numel()));
  p.flops = backward ? 3 * fwd_flops : fwd_flops;
  p.bytes = backward ? fwd_bytes + 4.0 * (double(y0.numel()) + numel_sum(host, e, false) + numel_sum(host, e, true))
                     : fwd_bytes;
  p.bound = e.compute_bound ? Bound::fp32 : Bound::memory;
  p.yardstick_note = "-";
  if (backward) {
    p.ours.before = [st, &e] {
      for (size_t k = 0; k < st->x.size(); ++k)
        if (e.inputs[k].differentiable) st->x[k].zero_grad(), st->x[k].set_requires_grad(true);
    };
    p.ours.run = [st, &e] { e.fn(st->x).backward(st->g); };
  } else {
    p.ours.run = [st, &e] {
      NoGradGuard ng;
      st->y = e.fn(st->x);
    };
  }
  p.reference = dev.is_cpu() ? "same op in float64 (CPU)" : "CPU twin";
  p.validate = [st, &e, backward, dev, host, g] {
    const std::vector<Tensor> got = test::ops::perf_outputs(e, st->x, backward, st->g);
    std::vector<Tensor> ref_in = host;
    Tensor ref_g = g;
    if (dev.is_cpu()) {
      for (Tensor& t : ref_in) t = t.to(DType::f64);
      ref_g = g.to(DType::f64);
    }
    const std::vector<Tensor> ref = test::ops::perf_outputs(e, ref_in, backward, ref_g);
    std::vector<Check> checks;
    size_t k = 0;  // the differentiable input each gradient belongs to
    for (size_t i = 0; i < got.size(); ++i) {
      if (i == 0) {
        checks.push_back(compare(got[0], ref[0], e.fwd_tol, "y"));
        continue;
      }
      while (!e.inputs[k].differentiable) ++k;
      checks.push_back(compare(got[i], ref[i], e.grad_tol, "d" + std::to_string(k++)));
    }
    return worst(checks);
  };
  return p;
}

}  // namespace

void add_generic_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, Covered covered) {
  if (!e.fn) return;
  if (!covered.fwd)
    add_for_devices(out, o, e.stem + "_fwd", e, [&e](Device d) { return prepare(e, false, d); });
  if (!covered.fwdbwd && e.has_grad_inputs())
    add_for_devices(out, o, e.stem + "_fwdbwd", e, [&e](Device d) { return prepare(e, true, d); });
}

}  // namespace sdkd::bench
