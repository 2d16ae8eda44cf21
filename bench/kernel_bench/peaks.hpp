#pragma once
// The device peaks that "% of peak" is taken against: a table for known GPUs, measured at
// start-up for the CPU (an FMA loop and a stream triad, at 1 thread and at the bench's count).
#include <string>

namespace sdkd::bench {

struct Peaks {
  std::string source;  // where the numbers come from ("measured", "NVIDIA datasheet: H100 SXM")
  double fp32_gflops = 0, tf32_gflops = 0, mem_gbs = 0;  // 0: unknown
};

// Matches the device name of cuda_device_summary(); unknown GPUs give zeros (no % printed).
Peaks gpu_peaks(const std::string& device_summary);

struct CpuPeaks {
  int threads = 1;
  Peaks one_thread, all;  // all = at `threads` threads
};
// About 0.5 s: each measurement is the best of a few short runs.
CpuPeaks measure_cpu_peaks(int threads);

}  // namespace sdkd::bench
