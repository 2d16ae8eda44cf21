#pragma once
// The registry's perf entries: every shape sdkd-bench times, each as the op through the public
// API on bench-scale inputs. One list from two sources:
//   - a test case's own perf shapes (OpCase::perf): the case's fn on bigger inputs, plus one quick
//     entry on the case's test shapes (what `sdkd-bench --quick` runs);
//   - the family tables of perf_shapes.hpp (GEMM, conv, norms, attention, FFT, the band-split
//     loss, and the perf-only Adam and Navier-Stokes steps), for which sdkd-bench has specialised
//     benchmarks (naive references, vendor yardsticks) that read the typed row back (`typed`).
// sdkd-bench turns every entry into rows: its specialised ones where `typed` names a table row,
// and generic <stem>_fwd / <stem>_fwdbwd rows for the directions those leave out.
#include <string>
#include <variant>
#include <vector>

#include "ops/op_registry.hpp"
#include "ops/perf_shapes.hpp"

namespace sdkd::test::ops {

using TypedShape = std::variant<std::monostate, const shapes::Gemm*, const shapes::Conv*, const shapes::ConvT*,
                                const shapes::Norm*, const shapes::Attention*, const shapes::Softmax*,
                                const shapes::Fft*, const shapes::SpectralLoss*, const shapes::Adam*,
                                const shapes::NsStep*>;

struct PerfCase {
  std::string family;               // a registry family, or one of perf_only_families()
  std::vector<std::string> covers;  // the op first, then the variants it exercises (as OpCase::covers)
  std::string stem;                 // sdkd-bench row family stem: generic rows <stem>_fwd, <stem>_fwdbwd
  std::string shape, origin;
  bool quick = false;  // tiny shapes: the only entries `sdkd-bench --quick` runs
  std::vector<InputSpec> inputs;
  OpFn fn;  // the op; empty for the perf-only entries, which only a specialised benchmark runs
  CostFn cost;
  bool cuda = true;            // the engine has a CUDA path for it
  bool compute_bound = false;  // roofline against fp32 FLOP/s; otherwise against DRAM bandwidth
  // Generic rows' validation, max |ours - ref| / max |ref| for the output and the input gradients:
  // float32 against the same op in float64 on the CPU, or a GPU row against the CPU float32 twin.
  double fwd_tol = 0, grad_tol = 0;
  std::string case_name;  // the test case whose fn and input specs this entry reuses; empty for table rows
  TypedShape typed;       // the perf_shapes.hpp row, when the entry comes from a family table

  const std::string& op() const { return covers.front(); }
  std::string key() const { return stem + "/" + shape; }  // unique; seeds the inputs
  bool has_grad_inputs() const;
};

// Every entry, families in families() order, then the perf-only families.
const std::vector<PerfCase>& perf_cases();
// Families that only sdkd-bench times (no public differentiable op): "optim", "ns_solver".
const std::vector<std::string>& perf_only_families();

// An entry's inputs as contiguous CPU tensors of `dtype`, seeded by key() (none requires grad).
std::vector<Tensor> make_inputs(const PerfCase& p, DType dtype);

// The forward output of fresh leaves made from `inputs` and, with `backward`, the gradients of
// the differentiable inputs after backward(upstream) (upstream: the output's shape, dtype, device).
std::vector<Tensor> perf_outputs(const PerfCase& p, const std::vector<Tensor>& inputs, bool backward,
                                 const Tensor& upstream);

// Whether an entry times a test case's op at bench scale: the same op, and every mode of it that
// the case exercises (covers such as "batch_norm2d:eval", "rfft2:backward") the entry exercises too.
bool times(const PerfCase& p, const OpCase& c);

}  // namespace sdkd::test::ops
