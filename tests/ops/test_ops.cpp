// The op registry (op_registry.hpp) run as tests: per family, every case in float64 against
// central finite differences (grad) and on CUDA against the CPU float32 twin (backend), plus
// checks of the registry itself and of the coverage listing.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/fixtures.hpp"
#include "ops/op_registry.hpp"

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
  REQUIRE(rows.size() == cases.size());
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
  CHECK(data_rows == int(cases.size()));
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
  // The benchmark column is not empty for the op families sdkd-bench times.
  const auto find = [&](const std::string& name) {
    for (const OpCase& c : cases)
      if (c.name == name) return &c;
    FAIL("no case " << name);
    return &cases.front();
  };
  CHECK(bench_families(*find("matmul_batched")) == std::vector<std::string>{"gemm", "gemm_blocked", "gemm_tf32"});
  CHECK(bench_families(*find("batch_norm2d_eval")).empty());
  CHECK(bench_families(*find("spectral_kd_adaptive")).empty());
  CHECK(bench_families(*find("relu")).empty());
}

TEST_CASE("perf mode times a case on the CPU", "[ops][perf]") {
  const OpCase& c = registry().front();
  const double ms = run_perf(c, sdkd::test::kCpu, 3);
  CHECK(ms > 0);
  CHECK(ms < 1000);
  CHECK_THROWS(run_perf(c, sdkd::test::kCpu, 0));
}
