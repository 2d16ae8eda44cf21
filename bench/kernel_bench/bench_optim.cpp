// One Adam step over the parameter list of each preset's model (the shapes of
// models::make_model's parameters; the values are random, the gradients fixed).
// Validation: the first step against the update written out in double (CPU rows; Adam's
// first step, with bias correction, moves every weight by about lr * sign(g)) or against the
// CPU optimizer on the same values (GPU rows). Memory-bound: 7 x 4 bytes per parameter
// (read w, g, m, v; write w, m, v).
#include <cmath>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/optim.hpp"

namespace sdkd::bench {

namespace {

// The update is lr * m / (sqrt(v) + eps) in fp32 against double, compared relative to the
// largest weight (~3): rounding of w - update is ~1e-7 of it.
constexpr double kTol = 1e-6;

std::vector<Shape> param_shapes(const shapes::Adam& a) {
  models::ModelConfig cfg;
  cfg.name = a.model;
  cfg.height = cfg.width = a.size;
  if (a.hidden) cfg.hidden = a.hidden;
  if (a.hid_S) cfg.hid_S = a.hid_S, cfg.hid_T = a.hid_T, cfg.N_T = a.N_T, cfg.heads = a.heads;
  Generator gen(0);
  const auto model = models::make_model(cfg, gen);
  std::vector<Shape> out;
  for (const auto& [name, t] : model->named_parameters()) out.push_back(t.shape());
  return out;
}

struct State {
  std::vector<std::pair<std::string, Tensor>> params;
  std::unique_ptr<optim::Adam> adam;
};

// Leaves of the given values on `dev` whose .grad is `grads` (set through one backward pass
// of sum(w * g), the public way to give a leaf a gradient).
std::vector<std::pair<std::string, Tensor>> make_params(const std::vector<Tensor>& values, const std::vector<Tensor>& grads,
                                                        Device dev) {
  std::vector<std::pair<std::string, Tensor>> out;
  Tensor total;
  for (size_t i = 0; i < values.size(); ++i) {
    Tensor w = values[i].to(dev).detach();
    w.set_requires_grad(true);
    const Tensor term = sum(mul(w, grads[i].to(dev)));
    total = total.defined() ? add(total, term) : term;
    out.emplace_back("p" + std::to_string(i), w);
  }
  total.backward();
  return out;
}

Prepared prepare(const shapes::Adam& a, Device dev) {
  const std::vector<Shape> shapes = param_shapes(a);
  std::vector<Tensor> values, grads;
  int64_t count = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    values.push_back(host_randn(shapes[i], 100 + 2 * i));
    grads.push_back(host_randn(shapes[i], 101 + 2 * i, 1e-2));
    count += values.back().numel();
  }
  const optim::AdamOptions opt;  // lr 1e-3, betas (0.9, 0.999), eps 1e-8
  auto st = std::make_shared<State>();
  st->params = make_params(values, grads, dev);
  st->adam = std::make_unique<optim::Adam>(st->params, opt);
  Prepared p;
  p.bytes = 7.0 * 4.0 * double(count);
  p.bound = Bound::memory;
  p.yardstick_note = "-";
  p.ours.run = [st] { st->adam->step(); };
  // One step of a fresh optimizer; returns the parameters' new values, concatenated.
  auto first_step = [values, grads, opt](Device d) {
    auto params = make_params(values, grads, d);
    optim::Adam adam(params, opt);
    adam.step();
    std::vector<double> all;
    for (auto& [n, t] : params) {
      const std::vector<double> v = t.to_double_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  if (dev.is_cpu()) {
    p.reference = "Adam's first step in double";
    p.validate = [values, grads, opt, first_step] {
      std::vector<double> ref;
      for (size_t i = 0; i < values.size(); ++i) {
        const std::vector<float> w = values[i].to_float_vector(), g = grads[i].to_float_vector();
        for (size_t j = 0; j < w.size(); ++j) {
          const double m = (1 - opt.beta1) * g[j], v = (1 - opt.beta2) * double(g[j]) * g[j];
          const double mh = m / (1 - opt.beta1), vh = v / (1 - opt.beta2);
          ref.push_back(w[j] - opt.lr * mh / (std::sqrt(vh) + opt.eps));
        }
      }
      return compare(first_step(kCpu), ref, kTol, "w");
    };
  } else {
    p.reference = "CPU twin";
    p.validate = [first_step] { return compare(first_step(kCuda), first_step(kCpu), kTol, "w"); };
  }
  return p;
}

}  // namespace

// One optimizer step: no op, no generic rows.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Adam& s) {
  add_for_devices(out, o, "adam", e, [&s](Device d) { return prepare(s, d); });
  return {true, true};
}

}  // namespace sdkd::bench
