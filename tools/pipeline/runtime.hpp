#pragma once
// The process's settings from the command line: CPU threads, the compute device,
// deterministic kernels and the GEMM backend, and what a run prints (--quiet, --log-json);
// placing models on that device.
#include <string>

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

// What training prints and writes: --quiet (errors and results only), --log-json FILE or -
// (one JSON object per epoch, train/epoch_log.hpp), and the study a demo runs (run r/R and the
// study's ETA). apply_runtime sets the first two; the pipeline's training steps read them all.
struct RunLog {
  bool quiet = false;
  std::string json;
  train::StudyProgress* study = nullptr;
};
RunLog& run_log();
// An informational line on stderr ("training unet ..."), silent under --quiet.
void note(const std::string& line);

}  // namespace sdkd::tools
