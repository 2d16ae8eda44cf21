#pragma once
// sdkd-bench's harness: a benchmark case is a named (family, shape, device) triple whose
// prepare() allocates the inputs and returns closures to validate, time and compare it.
// The cases come from the op registry's perf entries (tests/ops/perf_registry.hpp): each entry
// gives its specialised rows (bench_<family>.cpp, for the family tables) and generic rows
// (bench_generic.cpp) for what those leave out.
// The harness validates first (a failed check is reported as FAILED and never timed), then
// times the op and, where one exists, the yardstick (vendor library or unfused reference).
#include <functional>
#include <string>
#include <vector>

#include "ops/perf_registry.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::bench {

namespace shapes = sdkd::test::ops::shapes;
using sdkd::test::ops::PerfCase;

// Result of comparing an output with its reference: err = max |got - ref| / max |ref| over
// the compared entries (a NaN in `got` fails). Entries where the reference is NaN are "not
// sampled" and skipped (the naive CPU loops check a subset of large outputs).
struct Check {
  bool ok = true;
  double err = 0, tol = 0;
  std::string what;  // the worst output's name, e.g. "dx"
};
Check compare(const std::vector<double>& got, const std::vector<double>& ref, double tol, const std::string& what);
Check compare(const Tensor& got, const Tensor& ref, double tol, const std::string& what);
// The worst (largest err / tol) of several checks; any failure makes the result fail.
Check worst(const std::vector<Check>& checks);

// What the roofline % is taken against.
enum class Bound { fp32, tf32, memory, none };

struct Timed {
  std::function<void()> before;  // untimed, before every repeat (e.g. build the forward graph)
  std::function<void()> run;     // the timed call
  bool defined() const { return bool(run); }
};

struct Prepared {
  std::function<Check()> validate;
  std::string reference;       // what validate() compares against ("CPU twin", "same op in float64 (CPU)", ...)
  Timed ours;
  Timed yardstick;             // optional
  std::string yardstick_name;  // "OpenBLAS", "cuBLAS", "cuDNN", "unfused ops", ...
  std::string yardstick_note;  // printed instead of a ratio when there is no yardstick ("-", "cuDNN not available")
  double flops = 0;            // per call (0: no meaningful count)
  double bytes = 0;            // minimal DRAM traffic per call (0: not memory-bound)
  Bound bound = Bound::none;
};

struct Case {
  std::string family, shape;
  Device device;
  std::string origin;  // which model/layer the shape comes from
  const PerfCase* entry = nullptr;  // the registry perf entry it times
  std::function<Prepared()> prepare;
  std::string skip_reason;  // non-empty: listed and reported, never run
  std::string name() const;  // family/shape/device
};

// Options that the families need while building their cases.
struct BuildOptions {
  bool quick = false;
  bool cpu = true, cuda = true;  // which devices get rows
  std::string cuda_skip;         // non-empty: CUDA rows are skipped for this reason
};

// Every case: the rows of every perf entry of the registry (bench_registry.cpp), grouped by family.
std::vector<Case> registry_cases(const BuildOptions& o);
// The registry's coverage table (tests/ops/coverage.hpp) with the bench-scale row families built
// here in the benchmark column; probe_device as coverage_rows().
std::string coverage_text(bool probe_device);

// The generic rows a specialised benchmark stands in for: the forward (fwd) and the forward +
// backward (fwdbwd) of the entry's op.
struct Covered {
  bool fwd = false, fwdbwd = false;
};
// The specialised benchmarks, one overload per family table (perf_shapes.hpp) in its bench file;
// each appends the rows of one entry.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Gemm& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Conv& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::ConvT& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Norm& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Softmax& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e,
                             const shapes::Attention& s);
// rfft2 or irfft2, as the entry's op says.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Fft& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e,
                             const shapes::SpectralLoss& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Adam& s);
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::NsStep& s);
// The generic rows <stem>_fwd and <stem>_fwdbwd of an entry's op, but those already covered.
void add_generic_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, Covered covered);

// Appends one case per requested device (CPU and/or CUDA, skipped CUDA rows included).
void add_for_devices(std::vector<Case>& out, const BuildOptions& o, const std::string& family, const PerfCase& e,
                     const std::function<Prepared(Device)>& prepare);

// ---- helpers the families share ----
inline const Device kCpu{};
inline const Device kCuda{DeviceType::cuda, 0};
// A deterministic random CPU tensor (float32) for case `salt`; the GPU copy is made with .to().
Tensor host_randn(const Shape& shape, uint64_t salt, double scale = 1.0);
// Waits for the device's queued work (no-op on the CPU).
void sync(Device d);

// Timing: median of repeats after warm-up, see timing.cpp for the method.
struct Timing {
  double median_ms = 0, min_ms = 0;
  int repeats = 0;
};
struct TimingOptions {
  double min_time_s = 0.5;
  int warmup = 2;
  bool flush_l2 = true;  // GPU only
};
Timing time_it(const Timed& t, Device d, const TimingOptions& o);

}  // namespace sdkd::bench
