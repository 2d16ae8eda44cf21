#include "tools/pipeline/runtime.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <cxxopts.hpp>

#include "sdkd/models/forecaster.hpp"
#include "sdkd/device.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/profiling.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"
#include "sdkd/train/epoch_log.hpp"

namespace sdkd::tools {

namespace {
Device g_device;
}

RunLog& run_log() {
  static RunLog log;
  return log;
}

void note(const std::string& line) {
  if (!run_log().quiet && dist::world().is_main()) std::fprintf(stderr, "%s\n", line.c_str());
}

void apply_runtime(const cxxopts::ParseResult& r) {
  // Under mpirun/srun the ranks on one node share its cores.
  const dist::LaunchInfo launch = dist::detect_launch([](const char* v) { return std::getenv(v); });
  int n = std::max(int(std::thread::hardware_concurrency()) / std::max(launch.local_size, 1), 1);
  if (r.count("threads")) n = r["threads"].as<int>();
  SDKD_CHECK(n >= 1, "--threads must be >= 1, got ", n);
  set_num_threads(std::max(n, 1));
  (void)cpu_gemm_summary();  // the CPU GEMM is chosen now: a bad SDKD_CPU_GEMM(_ISA) fails before any work
  (void)host_cache_stats();  // and the host cache reads SDKD_HOST_CACHE_MB / _HEADROOM now
  std::string text = "cpu";
  try {
    text = r["device"].as<std::string>();
  } catch (const cxxopts::exceptions::exception&) {
    // this command has no --device option: it computes on the CPU
  }
  Device d;
  try {
    d = parse_device(text);
  } catch (const Error& e) {
    throw Error(str_cat("--device: ", e.what()));
  }
  if (d.is_cuda()) require_cuda("--device " + text, d.index);
  if (launch.launcher != "none") {  // mpirun -np 1 too: the data-parallel path with one rank
    // One process per GPU: rank r of a node computes on that node's GPU r, reduced by NCCL.
    dist::ProcessGroup& group = dist::init_world(d.is_cuda());
    if (d.is_cuda() && group.nccl_device() >= 0) d.index = group.nccl_device();
    if (group.is_main())
      std::fprintf(stderr, "%d ranks (%s, launched by %s), %d threads each%s\n", group.size(), group.backend().c_str(),
                   launch.launcher.c_str(), n, d.is_cuda() ? ", one GPU per rank" : "");
  }
  g_device = d;
  if (r.count("quiet")) run_log().quiet = true;
  if (r.count("log-json")) {
    run_log().json = r["log-json"].as<std::string>();
    train::check_json_log(run_log().json);  // before any work, not after the first epoch
  }
  if (r.count("deterministic")) set_deterministic(true);
  if (r.count("gemm")) {
    try {
      set_gemm_backend(parse_gemm_backend(r["gemm"].as<std::string>()));
    } catch (const Error& e) {
      throw Error(str_cat("--gemm: ", e.what()));
    }
  }
}

Device compute_device() { return g_device; }

void place(models::Forecaster& model) { model.to(g_device); }

}  // namespace sdkd::tools
