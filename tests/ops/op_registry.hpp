#pragma once
// One list of op cases for tests and benchmarks (after ggml's tests/test-backend-ops.cpp): every
// public differentiable op of the engine, each case with its inputs, how to build it from them
// through the public API, which inputs are differentiable, its tolerances and a cost estimate.
// The same list runs in three modes:
//   grad    - float64 on the CPU against central finite differences (tests/ops/test_ops.cpp);
//   backend - float32 on CUDA against the CPU float32 twin, forward and input gradients;
//   perf    - sdkd-bench times the registry's perf entries (perf_registry.hpp): a case's own
//             bench-scale `perf` shapes and the op families' shape tables (perf_shapes.hpp);
//             run_perf() times the small test shapes (sdkd-op-coverage --perf).
// sdkd-op-coverage prints which op runs where (coverage.hpp).
//
// Catch2-free and built only on the engine's public headers, so a benchmark can link it too.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/numeric.hpp"
#include "ops/op_costs.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::test::ops {

struct InputSpec {
  Shape shape;
  Fill fill = Fill::normal;
  bool differentiable = true;  // checked by finite differences and compared on CUDA
  double scale = 1.0;
};

// Tolerances of one case.
//   fd_tol, fd_step: finite differences in float64, |numeric - analytic| / max(1, |numeric|) < fd_tol
//     with the central step fd_step;
//   CUDA vs CPU float32: every element within rtol * |cpu| + atol * max|cpu| (atol is relative to
//     the compared tensor's largest magnitude, 1 when it is all zero, so one number fits a loss
//     of 1e-2 and a feature map of 10), for the forward output (fwd_*) and each input gradient
//     (grad_*), the gradients taken with the same random upstream gradient on both devices.
struct Tolerance {
  double fd_tol = 1e-6, fd_step = 1e-6;
  double fwd_rtol = 1e-6, fwd_atol = 1e-7;
  double grad_rtol = 1e-5, grad_atol = 1e-6;
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// A bench-scale shape of a case: the case's op (its fn) on inputs of these shapes, one per
// InputSpec (same fills and differentiability). sdkd-bench times it as <op>_fwd and, when the
// case has differentiable inputs, <op>_fwdbwd (perf_registry.hpp).
struct PerfShape {
  std::string name;  // unique per op, e.g. "simvp128.residual"
  std::vector<Shape> inputs;
  std::string origin;  // the model and layer the shape comes from
};

struct OpCase {
  std::string name;    // unique, e.g. "conv2d_stride2_groups2"
  std::string family;  // one of families(): one Catch2 TEST_CASE per family and mode
  std::vector<std::string> covers;  // the public op first, then the variants it exercises ("conv2d:groups")
  std::vector<InputSpec> inputs;
  OpFn fn;  // builds the op from input tensors (any dtype and device) via the public API
  Tolerance tol;
  bool cuda = true;  // the engine has a CUDA path for this case (read off engine/src/ops_*.cpp)
  CostFn cost;       // forward FLOPs from the input and output shapes (used at the perf shapes too)
  std::vector<PerfShape> perf;  // bench-scale shapes (empty: timed through a family table, or not at all)
  double flops = 0;  // forward estimate at the test shapes (multiply-add = 2)
  double bytes = 0;  // forward estimate at float32: every input read once, the output written once
  std::string note;  // what the case stresses, or why a tolerance differs from the family's default
  std::string setup_error;  // set when the sizing forward threw (the registry test then fails)

  const std::string& op() const { return covers.front(); }
  bool has_grad_inputs() const;
};

// Every case, built once (the forward is run once in float32 on the CPU to size `bytes`).
const std::vector<OpCase>& registry();
// The families, in the order of the test listing.
const std::vector<std::string>& families();
// The public ops and variants the registry must cover: a missing one fails the registry test.
const std::vector<std::string>& required_coverage();

// Inputs of a case as contiguous CPU tensors of `dtype` (seeded by the case's name, so the
// float32 and float64 inputs hold the same values up to rounding). None requires grad.
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype);
// The same for any list of input specs, seeded by `key` (a perf entry's "<stem>/<shape>").
std::vector<Tensor> make_inputs(const std::vector<InputSpec>& specs, const std::string& key, DType dtype);
// The differentiable-input mask, for finite_difference_check.
std::vector<bool> differentiable_mask(const OpCase& c);

// grad mode: the case in float64 on the CPU against central finite differences.
FdReport run_gradcheck(const OpCase& c);

// backend mode: forward and input gradients on `device` (float32) against the CPU float32 twin.
struct Comparison {
  std::string what;  // "forward", "grad input 1"
  double ratio = 0;  // worst element's share of its bound: <= 1 passes
  double rtol = 0, atol = 0;  // atol here is absolute (the relative one times max|cpu|)
  std::string error;  // shape or device mismatch, or a missing gradient
  bool passed() const { return error.empty() && ratio <= 1.0; }
};
std::vector<Comparison> run_backend(const OpCase& c, Device device);

// perf mode on the test shapes: ms per forward call (no gradient recorded) on `device` in float32,
// timed with steady_clock over `iterations` calls after two warm-up calls (synchronising a CUDA
// device). sdkd-bench times the bench-scale shapes with its own harness.
double run_perf(const OpCase& c, Device device, int iterations);

}  // namespace sdkd::test::ops
