// sdkd-op-coverage: the op registry (tests/ops/op_registry.hpp) as a listing.
//   sdkd-op-coverage [--coverage]         one row per case: CPU kernel, CUDA kernel, gradient check, benchmark
//                                         (the perf entries timing the op, coverage.hpp)
//   sdkd-op-coverage --perf [--device cpu|cuda] [--iterations N] [--filter TEXT]
//                                         ms per forward call (float32) and GB/s from the bytes estimate
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "ops/coverage.hpp"
#include "sdkd/device.hpp"
#include "sdkd/threads.hpp"

using namespace sdkd;
using namespace sdkd::test::ops;

namespace {

void usage() {
  std::printf(
      "usage: sdkd-op-coverage [--coverage] [--no-probe]\n"
      "       sdkd-op-coverage --perf [--device cpu|cuda] [--iterations N] [--filter TEXT]\n"
      "  --coverage    one row per registry case: CPU kernel | CUDA kernel | gradient check | benchmark (default)\n"
      "  --no-probe    take the CUDA column from the registry flag even when a device is usable\n"
      "  --perf        time every case's forward (float32, no gradient) after warm-up: ms and GB/s\n"
      "  --device      where --perf runs (default cpu)\n"
      "  --iterations  calls timed per case (default: as many as fill ~20 ms, at least 5)\n"
      "  --filter      only cases whose name or family contains TEXT\n");
}

int perf(Device device, int iterations, const std::string& filter) {
  if (device.is_cuda()) require_cuda("sdkd-op-coverage --perf --device cuda", device.index);
  std::printf("%-36s | %-11s | %9s | %10s | %8s | %9s\n", "case", "family", "ms/call", "bytes", "GB/s", "GFLOP/s");
  std::printf("%s\n", std::string(36 + 11 + 9 + 10 + 8 + 9 + 15, '-').c_str());
  int failed = 0;
  for (const OpCase& c : registry()) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos && c.family.find(filter) == std::string::npos) continue;
    try {
      int n = iterations;
      if (n <= 0) {  // calibrate: enough calls for ~20 ms
        const double one = std::max(run_perf(c, device, 1), 1e-4);
        n = std::clamp(int(20.0 / one), 5, 100000);
      }
      const double ms = run_perf(c, device, n);
      const double gbs = c.bytes / (ms * 1e-3) / 1e9, gflops = c.flops / (ms * 1e-3) / 1e9;
      std::printf("%-36s | %-11s | %9.5f | %10.0f | %8.3f | %9.3f\n", c.name.c_str(), c.family.c_str(), ms, c.bytes, gbs,
                  gflops);
    } catch (const std::exception& e) {
      std::printf("%-36s | %-11s | FAILED: %s\n", c.name.c_str(), c.family.c_str(), e.what());
      ++failed;
    }
  }
  std::printf("device %s, float32, forward only, %d thread(s); shapes are the registry's small test shapes "
              "(sdkd-bench times the bench-scale perf entries)\n",
              device.str().c_str(), num_threads());
  return failed ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool do_perf = false, probe = true;
    int iterations = 0;
    std::string filter, device = "cpu";
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const char* opt) -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(std::string(opt) + " needs a value (see --help)");
        return argv[++i];
      };
      if (a == "--coverage") {
      } else if (a == "--perf") {
        do_perf = true;
      } else if (a == "--no-probe") {
        probe = false;
      } else if (a == "--iterations") {
        const std::string v = value("--iterations");
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 100000000) throw std::runtime_error("--iterations expects a whole number >= 1, got '" + v + "'");
        iterations = int(n);
      } else if (a == "--filter") {
        filter = value("--filter");
      } else if (a == "--device") {
        device = value("--device");
      } else if (a == "-h" || a == "--help") {
        usage();
        return 0;
      } else {
        throw std::runtime_error("unexpected argument '" + a + "' (see --help)");
      }
    }
    if (do_perf) return perf(parse_device(device), iterations, filter);
    std::printf("%s", coverage_table(coverage_rows(probe)).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd-op-coverage: %s\n", e.what());
    return 2;
  }
}
