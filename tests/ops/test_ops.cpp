// The op registry (op_registry.hpp) run as tests: per family, every case in float64 against
// central finite differences (grad) and on CUDA against the CPU float32 twin (backend), plus
// checks of the registry itself, of its perf entries (what sdkd-bench times) and of the coverage
// listing.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "common/fixtures.hpp"
#include "ops/coverage.hpp"

using namespace sdkd;
using namespace sdkd::test::ops;
using sdkd::test::FdReport;

namespace {

std::vector<const OpCase*> family_cases(const std::string& family) {
  std::vector<const OpCase*> out;
  for (const OpCase& c : registry())
    if (c.family == family) out.push_back(&c);
  return out;
}

// The families that have TEST_CASEs below (filled at static initialisation by the macros).
std::set<std::string>& instantiated() {
  static std::set<std::string> s;
  return s;
}
struct FamilyRegistrar {
  explicit FamilyRegistrar(const char* family) { instantiated().insert(family); }
};

void grad_family(const std::string& family) {
  const auto cases = family_cases(family);
  REQUIRE(!cases.empty());
  int checked = 0;
  for (const OpCase* c : cases) {
    if (!c->has_grad_inputs()) continue;
    INFO("case " << c->name << " (" << c->op() << ")");
    try {
      const FdReport r = run_gradcheck(*c);
      INFO(r.describe());
      CHECK(r.passed());
      ++checked;
    } catch (const std::exception& e) {
      FAIL_CHECK("threw: " << e.what());
    }
  }
  CHECK(checked > 0);
}

void backend_family(const std::string& family) {
  const auto cases = family_cases(family);
  REQUIRE(!cases.empty());
  for (const OpCase* c : cases) {
    INFO("case " << c->name << " (" << c->op() << ")");
    // Every registry case has a CUDA path today; one without would be listed, not silently passed.
    if (!c->cuda) {
      WARN("case " << c->name << " has no CUDA path in the engine (registry flag): not compared");
      continue;
    }
    try {
      for (const Comparison& cmp : run_backend(*c, sdkd::test::kCuda)) {
        INFO(cmp.what << ": " << (cmp.error.empty() ? "" : cmp.error + ", ") << "worst element at " << cmp.ratio
                      << " of the bound (rtol " << cmp.rtol << ", atol " << cmp.atol << ")");
        CHECK(cmp.passed());
      }
    } catch (const std::exception& e) {
      FAIL_CHECK("threw: " << e.what());
    }
  }
}

}  // namespace

#define SDKD_OPS_CAT2(a, b) a##b
#define SDKD_OPS_CAT(a, b) SDKD_OPS_CAT2(a, b)
// One TEST_CASE per family and mode (one macro per line: each expands to one TEST_CASE).
#define SDKD_OPS_GRAD(fam)                                                                      \
  static const FamilyRegistrar SDKD_OPS_CAT(sdkd_ops_family_, __COUNTER__){fam};               \
  TEST_CASE("grad " fam " float64 vs central differences", "[ops][grad]") { grad_family(fam); }
#define SDKD_OPS_BACKEND(fam)                                                      \
  TEST_CASE("backend " fam " CUDA vs CPU float32", "[ops][cuda]") {                \
    SDKD_CUDA_OR_SKIP();                                                           \
    backend_family(fam);                                                           \
  }

SDKD_OPS_GRAD("elementwise")
SDKD_OPS_GRAD("unary")
SDKD_OPS_GRAD("reduce")
SDKD_OPS_GRAD("broadcast")
SDKD_OPS_GRAD("join")
SDKD_OPS_GRAD("view")
SDKD_OPS_GRAD("linalg")
SDKD_OPS_GRAD("conv")
SDKD_OPS_GRAD("norm")
SDKD_OPS_GRAD("loss")
SDKD_OPS_GRAD("attention")
SDKD_OPS_GRAD("stochastic")
SDKD_OPS_GRAD("resample")
SDKD_OPS_GRAD("fft")
SDKD_OPS_GRAD("spectral")
SDKD_OPS_GRAD("module")

SDKD_OPS_BACKEND("elementwise")
SDKD_OPS_BACKEND("unary")
SDKD_OPS_BACKEND("reduce")
SDKD_OPS_BACKEND("broadcast")
SDKD_OPS_BACKEND("join")
SDKD_OPS_BACKEND("view")
SDKD_OPS_BACKEND("linalg")
SDKD_OPS_BACKEND("conv")
SDKD_OPS_BACKEND("norm")
SDKD_OPS_BACKEND("loss")
SDKD_OPS_BACKEND("attention")
SDKD_OPS_BACKEND("stochastic")
SDKD_OPS_BACKEND("resample")
SDKD_OPS_BACKEND("fft")
SDKD_OPS_BACKEND("spectral")
SDKD_OPS_BACKEND("module")

TEST_CASE("registry lists every public op once with positive tolerances", "[ops][registry]") {
  const auto& cases = registry();
  REQUIRE(!cases.empty());
  std::set<std::string> names, covered, fams;
  for (const OpCase& c : cases) {
    INFO("case " << c.name);
    CHECK(names.insert(c.name).second);  // unique
    CHECK(!c.name.empty());
    CHECK(c.name.find_first_of(";,[]* \\") == std::string::npos);  // safe as a ctest/Catch2 test spec
    CHECK(std::find(families().begin(), families().end(), c.family) != families().end());
    REQUIRE(!c.covers.empty());
    REQUIRE(!c.inputs.empty());
    CHECK(c.has_grad_inputs());
    CHECK(static_cast<bool>(c.fn));
    INFO("setup error: " << c.setup_error);
    CHECK(c.setup_error.empty());
    for (const auto& s : c.inputs) CHECK(s.scale > 0);
    const Tolerance& t = c.tol;
    CHECK(t.fd_tol > 0);
    CHECK(t.fd_step > 0);
    CHECK(t.fwd_rtol > 0);
    CHECK(t.fwd_atol > 0);
    CHECK(t.grad_rtol > 0);
    CHECK(t.grad_atol > 0);
    CHECK(c.bytes > 0);
    CHECK(c.flops >= 0);
    covered.insert(c.covers.begin(), c.covers.end());
    fams.insert(c.family);
  }
  for (const std::string& op : required_coverage()) {
    INFO("no registry case covers " << op);
    CHECK(covered.count(op) == 1);
  }
  // Every family has cases and a grad/backend TEST_CASE pair in this file.
  for (const std::string& f : families()) {
    INFO("family " << f);
    CHECK(fams.count(f) == 1);
    CHECK(instantiated().count(f) == 1);
  }
  CHECK(instantiated().size() == families().size());
}

TEST_CASE("registry inputs are seeded and the same values in float32 and float64", "[ops][registry]") {
  for (const OpCase& c : registry()) {
    INFO("case " << c.name);
    const auto a = make_inputs(c, DType::f64), b = make_inputs(c, DType::f64), f = make_inputs(c, DType::f32);
    REQUIRE(a.size() == c.inputs.size());
    for (size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].shape() == c.inputs[k].shape);
      CHECK(a[k].dtype() == DType::f64);
      CHECK(f[k].dtype() == DType::f32);
      CHECK(!a[k].requires_grad());
      CHECK(a[k].to_double_vector() == b[k].to_double_vector());
      CHECK(f[k].to_double_vector() == a[k].to(DType::f32).to_double_vector());
      if (c.inputs[k].fill == sdkd::test::Fill::positive)
        for (double v : a[k].to_double_vector()) CHECK(v > 0);
    }
  }
}

TEST_CASE("the finite-difference check catches a wrong gradient", "[ops][registry]") {
  // A hand-made op whose backward is off by 1%: y = x * c with the gradient recorded as 1.01 c.
  // Built from public ops: y = (1.01 c) x - 0.01 c detach(x) has value c x and slope 1.01 c.
  const auto wrong = [](const std::vector<Tensor>& in) {
    return sub(mul_scalar(in[0], 1.01 * 1.5), mul_scalar(in[0].detach(), 0.01 * 1.5));
  };
  const FdReport r = sdkd::test::finite_difference_check(wrong, {sdkd::test::randn64({5}, 1)});
  INFO(r.describe());
  CHECK(!r.passed());
  CHECK(r.worst > 1e-3);
  // And passes the right one.
  const FdReport ok = sdkd::test::finite_difference_check(
      [](const std::vector<Tensor>& in) { return mul_scalar(in[0], 1.5); }, {sdkd::test::randn64({5}, 1)});
  CHECK(ok.passed());
  // A differentiable input that gets no gradient is an error, not a pass.
  const FdReport none = sdkd::test::finite_difference_check(
      [](const std::vector<Tensor>& in) { return mul_scalar(in[0].detach(), 1.5); }, {sdkd::test::randn64({5}, 1)});
  CHECK(!none.passed());
  CHECK(!none.error.empty());
}

TEST_CASE("backend mode runs every case with the CPU as both devices", "[ops][registry]") {
  // The backend comparison's plumbing (inputs, upstream gradient, which gradients are compared)
  // without a GPU: the CPU against itself must agree exactly, since the CPU is deterministic.
  for (const OpCase& c : registry()) {
    INFO("case " << c.name);
    try {
      const auto cmps = run_backend(c, sdkd::test::kCpu);
      size_t grads = 0;
      for (const auto& s : c.inputs) grads += s.differentiable;
      CHECK(cmps.size() == 1 + grads);
      for (const Comparison& cmp : cmps) {
        INFO(cmp.what << " " << cmp.error << " ratio " << cmp.ratio);
        CHECK(cmp.error.empty());
        CHECK(cmp.ratio == 0.0);
      }
    } catch (const std::exception& e) {
      FAIL_CHECK("threw: " << e.what());
    }
  }
}

TEST_CASE("coverage lists every registry case", "[ops][coverage]") {
  const auto rows = coverage_rows();
  const auto& cases = registry();
  // The cases, then one row per perf-only op (Adam's step, the NS solver's step).
  REQUIRE(rows.size() == cases.size() + 2);
  const std::string table = coverage_table(rows);
  std::map<std::string, int> seen;
  std::istringstream lines(table);
  std::string line;
  int data_rows = 0;
  while (std::getline(lines, line)) {
    const size_t bar = line.find(" | ");
    if (bar == std::string::npos) continue;
    std::string first = line.substr(0, bar);
    first.erase(first.find_last_not_of(' ') + 1);
    if (first == "case") continue;  // the header
    ++seen[first];
    ++data_rows;
  }
  CHECK(data_rows == int(rows.size()));
  for (size_t i = 0; i < cases.size(); ++i) {
    const OpCase& c = cases[i];
    INFO("case " << c.name);
    CHECK(seen[c.name] == 1);
    CHECK(rows[i].name == c.name);
    CHECK(rows[i].cpu);
    CHECK(rows[i].grad == c.has_grad_inputs());
    CHECK(rows[i].bench == bench_families(c));
    if (!cuda_unavailable_reason().empty()) CHECK(rows[i].cuda == c.cuda);
  }
  for (size_t i = cases.size(); i < rows.size(); ++i) {
    INFO("perf-only row " << rows[i].name);
    CHECK(seen[rows[i].name] == 1);
    CHECK(std::count(perf_only_families().begin(), perf_only_families().end(), rows[i].family) == 1);
    CHECK(!rows[i].grad);
    CHECK(!rows[i].bench.empty());
  }
  CHECK(rows[cases.size()].name == "adam");
  CHECK(rows[cases.size() + 1].name == "ns_step");
  // The benchmark column names the perf entries that time the op in the case's mode.
  const auto find = [&](const std::string& name) {
    for (const OpCase& c : cases)
      if (c.name == name) return &c;
    FAIL("no case " << name);
    return &cases.front();
  };
  CHECK(bench_families(*find("matmul_batched")) == std::vector<std::string>{"matmul"});  // its own perf shapes
  // A 2-D product (no mode) is timed by the GEMM table and by the batched entry.
  CHECK(bench_families(*find("matmul_2d_odd")) == std::vector<std::string>{"gemm", "matmul"});
  CHECK(bench_families(*find("conv2d_pad1")) == std::vector<std::string>{"conv"});
  // No bench-scale conv has stride 2 and groups (only a quick one does), none is in eval mode,
  // adaptive or a plain relu.
  CHECK(bench_families(*find("conv2d_stride2_groups2")).empty());
  CHECK(bench_families(*find("batch_norm2d_eval")).empty());
  CHECK(bench_families(*find("spectral_kd_adaptive")).empty());
  CHECK(bench_families(*find("relu")).empty());
  // A case with perf shapes is benchmarked by them, and every family has benchmarked cases.
  std::map<std::string, int> benched;
  for (const OpCase& c : cases) {
    INFO("case " << c.name);
    const auto fams = bench_families(c);
    if (!c.perf.empty()) CHECK(!fams.empty());
    benched[c.family] += !fams.empty();
  }
  for (const std::string& f : families()) {
    INFO("family " << f);
    CHECK(benched[f] > 0);
  }
}

TEST_CASE("perf entries give every family bench-scale and quick shapes", "[ops][perf]") {
  const auto& entries = perf_cases();
  std::set<std::string> keys;
  std::map<std::string, int> full, quick;
  for (const PerfCase& e : entries) {
    INFO("perf entry " << e.key());
    CHECK(keys.insert(e.key()).second);  // a row name is family/shape/device: unique per stem
    CHECK(e.stem.find_first_of("/ ") == std::string::npos);
    CHECK(e.shape.find_first_of("/ ") == std::string::npos);
    CHECK(!e.origin.empty());
    REQUIRE(!e.covers.empty());
    (e.quick ? quick : full)[e.family] += 1;
    if (!e.fn) {
      // Only the perf-only families lack an op; their specialised benchmark reads the table row.
      CHECK(std::count(perf_only_families().begin(), perf_only_families().end(), e.family) == 1);
      CHECK((std::holds_alternative<const shapes::Adam*>(e.typed) || std::holds_alternative<const shapes::NsStep*>(e.typed)));
      continue;
    }
    CHECK(std::count(families().begin(), families().end(), e.family) == 1);
    CHECK(!e.inputs.empty());
    CHECK(static_cast<bool>(e.cost));
    CHECK(e.fwd_tol > 0);
    CHECK(e.grad_tol > 0);
    if (e.case_name.empty()) {
      CHECK(!std::holds_alternative<std::monostate>(e.typed));  // a family-table row
      continue;
    }
    // An entry from a case's perf shapes runs that case's op with its input specs.
    const auto c = std::find_if(registry().begin(), registry().end(), [&](const OpCase& x) { return x.name == e.case_name; });
    REQUIRE(c != registry().end());
    CHECK(c->family == e.family);
    CHECK(times(e, *c));
    REQUIRE(c->inputs.size() == e.inputs.size());
    for (size_t k = 0; k < e.inputs.size(); ++k) {
      CHECK(e.inputs[k].fill == c->inputs[k].fill);
      CHECK(e.inputs[k].differentiable == c->inputs[k].differentiable);
      if (e.quick) CHECK(e.inputs[k].shape == c->inputs[k].shape);
    }
  }
  for (const OpCase& c : registry()) {
    INFO("case " << c.name);
    const auto n = std::count_if(entries.begin(), entries.end(), [&](const PerfCase& e) { return e.case_name == c.name; });
    CHECK(size_t(n) == (c.perf.empty() ? 0 : 1 + c.perf.size()));  // one quick entry on the test shapes
  }
  std::vector<std::string> all = families();
  all.insert(all.end(), perf_only_families().begin(), perf_only_families().end());
  for (const std::string& f : all) {
    INFO("family " << f);
    CHECK(full[f] > 0);
    CHECK(quick[f] > 0);
  }
}

namespace {

// max |a - b| / max |b| (b in float64), as sdkd-bench's validation measures it.
double max_rel_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) diff = std::max(diff, std::fabs(x[i] - y[i])), ref = std::max(ref, std::fabs(y[i]));
  return diff / (ref > 0 ? ref : 1.0);
}

}  // namespace

TEST_CASE("quick perf entries agree in float32 and float64 within their tolerances", "[ops][perf]") {
  // The generic rows' check on the CPU (bench_generic.cpp), here on the quick shapes: the op in
  // float32 against the same op in float64 from the same inputs and upstream gradient.
  int checked = 0;
  for (const PerfCase& e : perf_cases()) {
    if (!e.quick || !e.fn) continue;
    INFO("perf entry " << e.key());
    try {
      const std::vector<Tensor> x = make_inputs(e, DType::f32);
      Tensor y;
      {
        NoGradGuard ng;
        y = e.fn(x);
      }
      const Tensor g = sdkd::test::filled(y.shape(), sdkd::test::Fill::normal, 17, DType::f32);
      std::vector<Tensor> x64;
      for (const Tensor& t : x) x64.push_back(t.to(DType::f64));
      const bool backward = e.has_grad_inputs();
      const auto got = perf_outputs(e, x, backward, g), ref = perf_outputs(e, x64, backward, g.to(DType::f64));
      REQUIRE(got.size() == ref.size());
      CHECK(got.size() == 1 + (backward ? size_t(std::count_if(e.inputs.begin(), e.inputs.end(),
                                                               [](const InputSpec& s) { return s.differentiable; }))
                                        : 0));
      for (size_t i = 0; i < got.size(); ++i) {
        INFO("output " << i << " (0: forward, then the input gradients)");
        REQUIRE(got[i].shape() == ref[i].shape());
        CHECK(max_rel_error(got[i], ref[i]) <= (i == 0 ? e.fwd_tol : e.grad_tol));
      }
      ++checked;
    } catch (const std::exception& ex) {
      FAIL_CHECK("threw: " << ex.what());
    }
  }
  CHECK(checked > 20);
}

TEST_CASE("perf mode times a case on the CPU", "[ops][perf]") {
  const OpCase& c = registry().front();
  const double ms = run_perf(c, sdkd::test::kCpu, 3);
  CHECK(ms > 0);
  CHECK(ms < 1000);
  CHECK_THROWS(run_perf(c, sdkd::test::kCpu, 0));
}
