// The registry's perf entries (perf_registry.hpp): the family tables of perf_shapes.hpp as ops on
// their shapes, and each test case's own perf shapes, in one list.
#include "ops/perf_registry.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

#include "sdkd/autograd.hpp"
#include "sdkd/fft.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/ops_nn.hpp"
#include "sdkd/spectral_loss.hpp"

namespace sdkd::test::ops {

namespace {

using V = const std::vector<Tensor>&;

// Generic rows compare float32 with float64 (CPU) or the GPU with the CPU, relative to the largest
// reference value; the bound is the family's float32 rounding with a margin:
struct PerfTol {
  double fwd, grad;
};
PerfTol family_tol(const std::string& family) {
  static const std::map<std::string, PerfTol> t = {
      // one rounding per element (copies, one arithmetic operation, masks)
      {"elementwise", {1e-6, 1e-6}}, {"join", {1e-6, 1e-6}}, {"view", {1e-6, 1e-6}},
      {"stochastic", {1e-6, 1e-6}}, {"resample", {1e-6, 1e-6}},
      // float transcendentals are within a few ulp; the backward forms f' in float
      {"unary", {2e-6, 1e-5}},
      // sums of up to 10^6 terms accumulate in double, then round once; gradients broadcast
      {"reduce", {1e-5, 1e-6}}, {"broadcast", {1e-5, 1e-6}}, {"loss", {1e-5, 1e-6}},
      // float32 dot products of up to 4096 terms; weight gradients sum over batch x pixels (~1e5)
      {"linalg", {1e-4, 5e-4}}, {"conv", {1e-4, 5e-4}}, {"attention", {1e-4, 5e-4}}, {"module", {1e-4, 5e-4}},
      // statistics in double; gamma/beta gradients are sums of up to 409600 float terms
      {"norm", {1e-5, 1e-3}},
      // orthonormal transforms of <= 4096 points: a few ulp times log2(HW); gradients one more transform
      {"fft", {1e-5, 1e-4}},
      // 10^5..10^6 squared differences summed in double, the gradient through one more FFT
      {"spectral", {1e-4, 1e-4}}};
  const auto it = t.find(family);
  if (it == t.end()) throw std::logic_error("perf registry: no tolerance for family '" + family + "'");
  return it->second;
}

// Products are timed against the FLOP peak, everything else against memory bandwidth.
bool compute_bound(const std::string& op) {
  for (const char* o : {"matmul", "linear", "conv2d", "conv_transpose2d", "multi_head_attention", "nn::Linear",
                        "nn::Conv2d", "nn::ConvTranspose2d"})
    if (op == o) return true;
  return false;
}

InputSpec in(Shape s, Fill f = Fill::normal, double scale = 1.0) { return {std::move(s), f, true, scale}; }
InputSpec fixed(Shape s, Fill f = Fill::normal, double scale = 1.0) { return {std::move(s), f, false, scale}; }

// One entry with the family's tolerance.
PerfCase entry(const std::string& family, std::vector<std::string> covers, std::string stem, std::string shape,
               std::string origin, bool quick, std::vector<InputSpec> inputs, OpFn fn, CostFn cost) {
  PerfCase p;
  p.family = family;
  p.covers = std::move(covers);
  p.stem = std::move(stem);
  p.shape = std::move(shape);
  p.origin = std::move(origin);
  p.quick = quick;
  p.inputs = std::move(inputs);
  p.fn = std::move(fn);
  p.cost = std::move(cost);
  p.compute_bound = compute_bound(p.op());
  const PerfTol t = family_tol(family);
  p.fwd_tol = t.fwd, p.grad_tol = t.grad;
  return p;
}

// ---- family tables (perf_shapes.hpp) as ops ----

void linalg_table(std::vector<PerfCase>& out) {
  for (const auto& s : shapes::kGemm) {
    out.push_back(entry("linalg", {"matmul"}, "gemm", s.name, s.origin, s.quick, {in({s.M, s.K}), in({s.K, s.N})},
                        [](V x) { return matmul(x[0], x[1]); }, cost::kGemm));
    out.back().typed = &s;
  }
}

std::vector<std::string> conv_covers(const shapes::Conv& s) {
  std::vector<std::string> c = {"conv2d"};
  if (s.stride > 1) c.push_back("conv2d:stride");
  if (s.pad > 0) c.push_back("conv2d:padding");
  if (s.dil > 1) c.push_back("conv2d:dilation");
  if (s.groups > 1) c.push_back("conv2d:groups");
  if (s.groups > 1 && s.groups == s.C_in && s.groups == s.C_out) c.push_back("conv2d:depthwise");
  return c;
}

void conv_table(std::vector<PerfCase>& out) {
  // Weights at 0.1 keep sums of hundreds of products O(1), as the models' initialisation does.
  for (const auto& s : shapes::kConv) {
    const Conv2dOptions o = Conv2dOptions::make(s.stride, s.pad, s.dil, s.groups);
    out.push_back(entry("conv", conv_covers(s), "conv", s.name, s.origin, s.quick,
                        {in({s.N, s.C_in, s.H, s.W}), in({s.C_out, s.C_in / s.groups, s.k, s.k}, Fill::normal, 0.1)},
                        [o](V x) { return conv2d(x[0], x[1], Tensor(), o); }, cost::kConv));
    out.back().typed = &s;
  }
  for (const auto& s : shapes::kConvT) {
    out.push_back(entry("conv", {"conv_transpose2d", "conv_transpose2d:stride"}, "conv_transpose", s.name, s.origin,
                        s.quick, {in({s.N, s.C_in, s.H, s.W}), in({s.C_in, s.C_out, 4, 4}, Fill::normal, 0.1)},
                        [](V x) { return conv_transpose2d(x[0], x[1], Tensor(), Conv2dOptions::make(2, 1)); },
                        cost::kConvT));
    out.back().typed = &s;
  }
}

void norm_table(std::vector<PerfCase>& out) {
  using shapes::NormKind;
  for (const auto& s : shapes::kNorm) {
    const bool layer = s.kind == NormKind::layer;
    const int64_t C = layer ? s.d3 : s.d1, groups = s.groups;
    const Shape x = layer ? Shape{s.d1, s.d2, s.d3} : Shape{s.d0, s.d1, s.d2, s.d3};
    const std::vector<InputSpec> inputs = {in(x, Fill::normal, 2.0), in({C}, Fill::positive), in({C}, Fill::normal, 0.1)};
    if (s.kind == NormKind::batch)
      out.push_back(entry("norm", {"batch_norm2d", "batch_norm2d:train"}, "batch_norm", s.name, s.origin, s.quick, inputs,
                          [](V v) {
                            // Training mode updates the running buffers: fresh ones per call.
                            const int64_t c = v[0].size(1);
                            Tensor rm = Tensor::zeros({c}, v[0].dtype(), v[0].device());
                            Tensor rv = Tensor::ones({c}, v[0].dtype(), v[0].device());
                            return batch_norm2d(v[0], v[1], v[2], rm, rv, true);
                          },
                          cost::per_output(8)));
    else if (s.kind == NormKind::group)
      out.push_back(entry("norm", {"group_norm"}, "group_norm", s.name, s.origin, s.quick, inputs,
                          [groups](V v) { return group_norm(v[0], groups, v[1], v[2]); }, cost::per_output(8)));
    else
      out.push_back(entry("norm", {"layer_norm"}, "layer_norm", s.name, s.origin, s.quick, inputs,
                          [](V v) { return layer_norm(v[0], v[1], v[2]); }, cost::per_output(8)));
    out.back().typed = &s;
  }
}

void attention_table(std::vector<PerfCase>& out) {
  for (const auto& s : shapes::kSoftmax) {
    out.push_back(entry("attention", {"softmax"}, "softmax", s.name, s.origin, s.quick,
                        {in({s.rows, s.cols}, Fill::normal, 3.0)}, [](V x) { return softmax(x[0], -1); },
                        cost::per_output(4)));
    out.back().typed = &s;
  }
  for (const auto& s : shapes::kAttention) {
    const Shape q{s.B, s.heads, s.N, s.d};
    out.push_back(entry("attention", {"multi_head_attention"}, "attention", s.name, s.origin, s.quick,
                        {in(q), in(q), in(q)}, [](V x) { return multi_head_attention(x[0], x[1], x[2]); },
                        cost::kAttention));
    out.back().typed = &s;
  }
}

void fft_table(std::vector<PerfCase>& out) {
  for (const auto& s : shapes::kFft) {
    out.push_back(entry("fft", {"rfft2", "rfft2:ortho"}, "rfft2", s.name, s.origin, s.quick, {in({s.B, s.C, s.H, s.W})},
                        [](V x) { return rfft2(x[0]); }, cost::kRfft));
    out.back().typed = &s;
    const int64_t W = s.W;
    out.push_back(entry("fft", {"irfft2", "irfft2:ortho"}, "irfft2", s.name, s.origin, s.quick,
                        {in({s.B, s.C, s.H, s.W / 2 + 1, 2})}, [W](V x) { return irfft2(x[0], W); }, cost::kIrfft));
    out.back().typed = &s;
  }
}

void spectral_table(std::vector<PerfCase>& out) {
  for (const auto& s : shapes::kSpectralLoss) {
    SpectralKDOptions o;
    o.cutoffs = {0.25};
    o.alpha = s.alpha;
    // With alpha 1 these are the loss's defaults (SpectralKDOptions{}): the "plain" mode.
    const std::string mode = s.alpha == 1.0 ? "spectral_kd_loss:plain" : "spectral_kd_loss:alpha";
    const Shape m{s.B, s.C, s.H, s.W};
    out.push_back(entry("spectral", {"spectral_kd_loss", mode}, "spectral_loss", s.name, s.origin, s.quick,
                        {in(m), fixed(m, Fill::normal, 0.7)}, [o](V x) { return spectral_kd_loss(x[0], x[1], o).loss; },
                        cost::kSpectral));
    out.back().typed = &s;
  }
}

// Adam and the Navier-Stokes step are no registry ops: no fn, only their specialised benchmarks
// (bench_optim.cpp, bench_ns.cpp) run them.
template <class Row, size_t N>
void perf_only_table(std::vector<PerfCase>& out, const Row (&table)[N], const char* family, const char* op,
                     const char* stem) {
  for (const Row& s : table) {
    PerfCase p;
    p.family = family, p.covers = {op}, p.stem = stem;
    p.shape = s.name, p.origin = s.origin, p.quick = s.quick, p.typed = &s;
    out.push_back(std::move(p));
  }
}

// A case's perf shapes, and one quick entry on its own test shapes. The stem is the op's name
// ("nn::LayerNorm" -> "nn_layernorm").
void case_entries(std::vector<PerfCase>& out, const OpCase& c) {
  if (c.perf.empty()) return;
  std::string stem;
  for (char ch : c.op()) stem += ch == ':' ? '_' : char(std::tolower(static_cast<unsigned char>(ch)));
  if (size_t i = stem.find("__"); i != std::string::npos) stem.erase(i, 1);
  auto add = [&](const std::string& shape, const std::string& origin, bool quick, std::vector<InputSpec> inputs) {
    out.push_back(entry(c.family, c.covers, stem, shape, origin, quick, std::move(inputs), c.fn, c.cost));
    out.back().case_name = c.name;
    out.back().cuda = c.cuda;
  };
  add(c.name, "the registry case's test shapes (quick check)", true, c.inputs);
  for (const PerfShape& ps : c.perf) {
    if (ps.inputs.size() != c.inputs.size())
      throw std::logic_error("perf registry: " + c.name + "/" + ps.name + " gives " + std::to_string(ps.inputs.size()) +
                             " input shapes for " + std::to_string(c.inputs.size()) + " inputs");
    std::vector<InputSpec> inputs = c.inputs;
    for (size_t k = 0; k < inputs.size(); ++k) inputs[k].shape = ps.inputs[k];
    add(ps.name, ps.origin, false, std::move(inputs));
  }
}

std::vector<PerfCase> build() {
  using Table = void (*)(std::vector<PerfCase>&);
  const std::map<std::string, Table> tables = {{"linalg", linalg_table}, {"conv", conv_table},
                                               {"norm", norm_table},     {"attention", attention_table},
                                               {"fft", fft_table},       {"spectral", spectral_table}};
  std::vector<PerfCase> out;
  for (const std::string& f : families()) {
    if (const auto it = tables.find(f); it != tables.end()) it->second(out);
    for (const OpCase& c : registry())
      if (c.family == f) case_entries(out, c);
  }
  perf_only_table(out, shapes::kAdam, "optim", "optim::Adam", "adam");
  perf_only_table(out, shapes::kNsStep, "ns_solver", "data::NSSolver::step", "ns_step");
  return out;
}

}  // namespace

bool PerfCase::has_grad_inputs() const {
  return fn && std::any_of(inputs.begin(), inputs.end(), [](const InputSpec& s) { return s.differentiable; });
}

const std::vector<PerfCase>& perf_cases() {
  static const std::vector<PerfCase> cases = build();
  return cases;
}

const std::vector<std::string>& perf_only_families() {
  static const std::vector<std::string> f = {"optim", "ns_solver"};
  return f;
}

std::vector<Tensor> make_inputs(const PerfCase& p, DType dtype) { return make_inputs(p.inputs, p.key(), dtype); }

std::vector<Tensor> perf_outputs(const PerfCase& p, const std::vector<Tensor>& inputs, bool backward,
                                 const Tensor& upstream) {
  if (!p.fn) throw std::logic_error("perf entry " + p.key() + " has no op (a specialised benchmark runs it)");
  std::vector<Tensor> x;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor t = inputs[k].detach();
    if (backward && p.inputs[k].differentiable) t.set_requires_grad(true);
    x.push_back(t);
  }
  if (!backward) {
    NoGradGuard ng;
    return {p.fn(x)};
  }
  const Tensor y = p.fn(x);
  y.backward(upstream);
  std::vector<Tensor> out = {y.detach()};
  for (size_t k = 0; k < x.size(); ++k)
    if (p.inputs[k].differentiable) out.push_back(x[k].grad());
  return out;
}

bool times(const PerfCase& p, const OpCase& c) {
  if (p.op() != c.op()) return false;
  const std::string mode = c.op() + ":";
  for (const std::string& v : c.covers)
    if (v.rfind(mode, 0) == 0 && std::find(p.covers.begin(), p.covers.end(), v) == p.covers.end()) return false;
  return true;
}

}  // namespace sdkd::test::ops
