#pragma once
// Where a result comes from, recorded with it (metrics.json "provenance", the report's
// Provenance table): student metrics move in the 2nd-3rd digit between CPUs and builds, so a
// number is checkable only together with the commit, build and machine that produced it.
#include <string>

#include <nlohmann/json.hpp>

namespace sdkd::tools {

// Keeps the process's argv for provenance() (main calls it first).
void record_command_line(int argc, char** argv);

// {"version": "0.1.0" (CMakeLists.txt's project() VERSION), "commit": "a7ef709" or "unknown",
//  "dirty": true/false/null (tracked files changed since the commit; null: unknown), "build_type", "compiler", "cxx_flags", "cuda" ("off" or "on (nvcc
//  ..., architectures ...)"), "blas" ("OpenBLAS (CBLAS)" or "blocked fallback"), "openmp",
//  "cpu" (/proc/cpuinfo's model name, "unknown" without one), "gpus" (cuda_device_summary of
//  each CUDA device, [] without), "device" (the one computed on), "threads", "date_utc"
//  ("2026-12-03T10:11:12Z", now), "command_line" (argv joined, shell-quoted where needed)}.
nlohmann::json provenance();

// "sdkd 0.1.0 (a7ef709, Release)": the version, commit and build type of this binary, the line
// `sdkd --version` and `sdkd info` print.
std::string version_line();

// The first "model name" of a /proc/cpuinfo text ("" without one).
std::string cpu_model_name(const std::string& cpuinfo);

// argv as one shell line: words with characters other than [A-Za-z0-9_@%+=:,./-] in single
// quotes (a ' inside written '\'').
std::string shell_join(int argc, char** argv);

}  // namespace sdkd::tools
