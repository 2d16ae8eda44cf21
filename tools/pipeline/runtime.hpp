#pragma once
// The process's compute settings from the command line: CPU threads, the compute device,
// deterministic kernels and the GEMM backend; and placing models on that device.
#include "sdkd/dtype.hpp"  // Device

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Applies --threads (default: all cores) and the device options when the command has them
// (options.hpp's add_device_options): checks that a requested CUDA device exists (one clear
// error otherwise) and makes it the device that compute_device() returns.
void apply_runtime(const cxxopts::ParseResult& r);
Device compute_device();
// Moves a model to compute_device() (a no-op on the CPU).
void place(models::Forecaster& model);

}  // namespace sdkd::tools
