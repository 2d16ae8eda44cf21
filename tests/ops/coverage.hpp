#pragma once
// The coverage listing of the op registry: one row per test case (and per perf-only op) saying
// where it runs: CPU kernel, CUDA kernel, gradient check, benchmark. The benchmark column is
// computed from the perf entries (perf_registry.hpp): a case is benchmarked when an entry at bench
// scale times its op in the same mode (times()). Printed by sdkd-op-coverage and
// `sdkd-bench --coverage` (which names the bench rows it built instead of the entries' stems).
#include <functional>
#include <string>
#include <vector>

#include "ops/perf_registry.hpp"

namespace sdkd::test::ops {

struct CoverageRow {
  std::string name, family;
  bool cpu = true;          // every op has a CPU kernel (the oracle)
  bool cuda = false;        // runs on a CUDA device in this build
  std::string cuda_source;  // "ran on cuda:0", "ran on cuda:0 and FAILED: ...", or "registry flag"
  bool grad = false;        // has differentiable inputs, so grad mode checks it
  std::vector<std::string> bench;  // the sdkd-bench row families (or stems) timing it, each once
};

// The bench-scale (not quick) perf entries that time a case.
std::vector<const PerfCase*> perf_entries_for(const OpCase& c);
// Their stems, each once, in entry order.
std::vector<std::string> bench_families(const OpCase& c);

// What sdkd-bench calls the rows of an entry; nullptr: the entry's stem.
using BenchRowsOf = std::function<std::vector<std::string>(const PerfCase&)>;

// One row per registry case, then one per perf-only op (Adam, the NS step: not differentiable).
// probe_device: when a CUDA device is usable, decide the CUDA column by running each case there
// (forward + backward); otherwise (or when false) take it from the registry's `cuda` flag.
std::vector<CoverageRow> coverage_rows(bool probe_device = true, const BenchRowsOf& rows_of = nullptr);
// The table, its totals, and per family how many cases are benchmarked.
std::string coverage_table(const std::vector<CoverageRow>& rows);

}  // namespace sdkd::test::ops
