#pragma once
// One list of op cases for tests and benchmarks (after ggml's tests/test-backend-ops.cpp): every
// public differentiable op of the engine, each case with its inputs, how to build it from them
// through the public API, which inputs are differentiable, its tolerances and a cost estimate.
// The same list runs in three modes:
//   grad    - float64 on the CPU against central finite differences (tests/ops/test_ops.cpp);
//   backend - float32 on CUDA against the CPU float32 twin, forward and input gradients;
//   perf    - run_perf(): ms per call after warm-up (sdkd-op-coverage --perf).
// sdkd-op-coverage prints which op runs where (coverage_rows / coverage_table).
//
// Catch2-free and built only on the engine's public headers, so a benchmark can link it too.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/numeric.hpp"
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

struct OpCase {
  std::string name;    // unique, e.g. "conv2d_stride2_groups2"
  std::string family;  // one of families(): one Catch2 TEST_CASE per family and mode
  std::vector<std::string> covers;  // the public op first, then the variants it exercises ("conv2d:groups")
  std::vector<InputSpec> inputs;
  OpFn fn;  // builds the op from input tensors (any dtype and device) via the public API
  Tolerance tol;
  bool cuda = true;  // the engine has a CUDA path for this case (read off engine/src/ops_*.cpp)
  double flops = 0;  // forward estimate (multiply-add = 2)
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
// sdkd-bench families that time an op (a static table; see op_registry.cpp for how it was read).
std::vector<std::string> bench_families(const OpCase& c);

// Inputs of a case as contiguous CPU tensors of `dtype` (seeded by the case's position, so the
// float32 and float64 inputs hold the same values up to rounding). None requires grad.
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype);
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

// perf mode: ms per forward call (no gradient recorded) on `device` in float32, timed with
// steady_clock over `iterations` calls after two warm-up calls (synchronising a CUDA device).
double run_perf(const OpCase& c, Device device, int iterations);

// Coverage: one row per case.
struct CoverageRow {
  std::string name, family;
  bool cpu = true;      // every op has a CPU kernel (the oracle)
  bool cuda = false;    // runs on a CUDA device in this build
  std::string cuda_source;  // "ran on cuda:0", "ran on cuda:0 and FAILED: ...", or "registry flag (no device: ...)"
  bool grad = false;    // has differentiable inputs, so grad mode checks it
  std::vector<std::string> bench;  // sdkd-bench families timing it
};
// probe_device: when a CUDA device is usable, decide the CUDA column by running each case there
// (forward + backward); otherwise (or when false) take it from the registry's `cuda` flag.
std::vector<CoverageRow> coverage_rows(bool probe_device = true);
std::string coverage_table(const std::vector<CoverageRow>& rows);

}  // namespace sdkd::test::ops
