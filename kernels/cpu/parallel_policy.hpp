#pragma once
// When a CPU loop is worth an OpenMP parallel region. A region wakes the team: with spinning
// threads (libgomp's default) that takes about a microsecond, but under OMP_WAIT_POLICY=passive
// the threads sleep in the kernel between regions and waking them cost 37 us on average on the
// 2-vCPU VM (an empty region, measured between 20 us of serial work). A batch-1 U-Net forward
// opens about 18 regions of tens of microseconds of work each, and ran 2x slower on two threads
// than on one. So every gate asks, besides its own size rule, whether the loop's estimated serial
// time is several region costs: the decision follows the environment, never a timing, so a run
// is as reproducible as before (and every kernel gated here computes the same bits either way,
// except the im2col GEMM's weight gradient, whose per-worker sums follow its worker count).
#include <cstdint>
#include <string>

namespace sdkd::cpu {

// What one parallel region is taken to cost, and why.
struct RegionCost {
  double ns = 0;
  std::string why;  // "OMP_WAIT_POLICY=passive", "spinning threads", "SDKD_PARALLEL_REGION_US"
};

// From the three variables' values (null: unset): SDKD_PARALLEL_REGION_US if set (a number
// >= 0, in us), else 40 us when OMP_WAIT_POLICY is passive (any case) or GOMP_SPINCOUNT is 0,
// else 1 us. An invalid SDKD_PARALLEL_REGION_US throws sdkd::Error naming it.
RegionCost region_cost_from(const char* region_us, const char* wait_policy, const char* spin_count);

// region_cost_from this process's environment, read once.
const RegionCost& parallel_region_cost();
inline double parallel_region_ns() { return parallel_region_cost().ns; }

// Whether a loop that takes about serial_ns on one thread should fork: more than one thread,
// not already inside a region, and serial_ns >= kRegionsOfWork region costs.
bool threads_pay_ns(double serial_ns);

// Rough single-thread rates for the estimate: a streaming loop moves about kStreamBytesPerNs
// bytes per ns (STREAM triad on one core: 15 GB/s on the Intel VM, 20 on the AMD one), the
// direct convolutions run kFlopsPerNs floating-point operations per ns (90-150 GFLOP/s per
// AVX-512 core). With 60, the batch-1 U-Net still forked two convs worth about one region
// each. An estimate too low (a slower CPU) keeps a mid-sized loop serial under the passive
// policy; too high makes it fork.
inline constexpr double kStreamBytesPerNs = 10.0;
inline constexpr double kFlopsPerNs = 120.0;
inline constexpr double kRegionsOfWork = 3.0;

inline bool threads_pay_bytes(double bytes) { return threads_pay_ns(bytes / kStreamBytesPerNs); }
inline bool threads_pay_flops(double flops) { return threads_pay_ns(flops / kFlopsPerNs); }

}  // namespace sdkd::cpu
