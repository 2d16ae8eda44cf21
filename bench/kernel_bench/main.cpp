// sdkd-bench: kernel microbenchmarks of the op registry's perf entries (bench_registry.cpp). Every
// case is validated against its CPU twin (or, on the CPU, a naive reference or the same op in
// float64) before it is timed; a case that fails validation is reported FAILED and not timed.
// See bench/README.md for the method and the output columns.
// Exit status: 0 all run cases passed, 2 bad options, 3 some case FAILED or threw.
#include <cxxopts.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "bench/kernel_bench/harness.hpp"
#include "bench/kernel_bench/peaks.hpp"
#include "bench/kernel_bench/report.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/threads.hpp"

namespace sdkd::bench {

namespace {

struct Settings {
  std::string filter, json, csv, device = "all";
  int threads = 1;
  double min_time = 0.5;
  bool list = false, quick = false, flush_l2 = true, coverage = false;
};

// The value of a numeric option, parsed here so that a bad value's error names the option
// (cxxopts' own message gives only the value).
double number(const cxxopts::ParseResult& r, const char* name, double lo, double hi) {
  const std::string text = r[name].as<std::string>();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SDKD_CHECK(used == text.size() && used > 0, "--", name, " expects a number, got '", text, "'");
  SDKD_CHECK(v >= lo && v <= hi, "--", name, " must be in [", lo, ", ", hi, "], got ", text);
  return v;
}

Settings parse(int argc, char** argv) {
  cxxopts::Options opts("sdkd-bench", "Kernel microbenchmarks: validate against the CPU twin, then time");
  opts.add_options()
    ("filter", "only cases whose name family/shape/device matches this regular expression", cxxopts::value<std::string>())
    ("list", "print the cases (after --filter) and exit")
    ("coverage", "print per registry op: CPU / CUDA / gradient check / the bench rows timing it, and exit")
    ("json", "write the results to this JSON file", cxxopts::value<std::string>())
    ("csv", "write the results to this CSV file", cxxopts::value<std::string>())
    ("device", "cpu, cuda or all", cxxopts::value<std::string>()->default_value("all"))
    ("threads", "CPU threads (default: all cores)", cxxopts::value<std::string>())
    ("min-time", "seconds of timed repeats per case and yardstick (default 0.5; 0.01 with --quick)",
     cxxopts::value<std::string>())
    ("quick", "tiny shapes and --min-time 0.01 (a smoke test of every family)")
    ("no-l2-flush", "GPU: do not overwrite the L2 cache before each repeat")
    ("h,help", "show this help");
  cxxopts::ParseResult r;
  try {
    r = opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(str_cat(e.what(), " (see --help)"));
  }
  if (r.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    std::exit(0);
  }
  if (!r.unmatched().empty()) throw Error(str_cat("unexpected argument '", r.unmatched().front(), "' (see --help)"));
  Settings s;
  if (r.count("filter")) s.filter = r["filter"].as<std::string>();
  if (r.count("json")) s.json = r["json"].as<std::string>();
  if (r.count("csv")) s.csv = r["csv"].as<std::string>();
  s.device = r["device"].as<std::string>();
  SDKD_CHECK(s.device == "cpu" || s.device == "cuda" || s.device == "all", "--device must be cpu, cuda or all, got '",
             s.device, "'");
  s.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  if (r.count("threads")) {
    const double t = number(r, "threads", 1, 4096);
    SDKD_CHECK(t == std::floor(t), "--threads must be a whole number, got ", t);
    s.threads = int(t);
  }
  s.quick = r.count("quick") > 0;
  s.min_time = r.count("min-time") ? number(r, "min-time", 1e-6, 600) : s.quick ? 0.01 : 0.5;
  s.list = r.count("list") > 0;
  s.coverage = r.count("coverage") > 0;
  s.flush_l2 = r.count("no-l2-flush") == 0;
  return s;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

double peak_for(Bound b, const Peaks& p) {
  switch (b) {
    case Bound::fp32: return p.fp32_gflops;
    case Bound::tf32: return p.tf32_gflops;
    case Bound::memory: return p.mem_gbs;
    case Bound::none: return 0;
  }
  return 0;
}
const char* bound_name(Bound b) {
  return b == Bound::fp32 ? "fp32" : b == Bound::tf32 ? "tf32" : b == Bound::memory ? "memory" : "-";
}

// The bound that limits a case with both counts: below the machine's balance point (peak
// FLOP/s over peak bytes/s) even perfect reuse leaves it waiting on memory, so its fraction
// of the compute peak would say nothing (a 1x1 conv to one channel reads 26 MB for 13 MFLOP).
Bound roofline_bound(const Prepared& p, const Peaks& peaks) {
  if (p.bound == Bound::memory || p.bound == Bound::none || p.flops <= 0 || p.bytes <= 0) return p.bound;
  const double compute = peak_for(p.bound, peaks), memory = peaks.mem_gbs;
  if (compute <= 0 || memory <= 0) return p.bound;
  return p.flops / p.bytes < compute / memory ? Bound::memory : p.bound;
}

Row run_case(const Case& c, const TimingOptions& topt, const Peaks& peaks) {
  Row r;
  r.name = c.name(), r.family = c.family, r.shape = c.shape, r.device = c.device.is_cuda() ? "cuda" : "cpu";
  r.origin = c.origin;
  r.op = c.entry->op(), r.op_family = c.entry->family;
  if (!c.skip_reason.empty()) {
    r.status = "skipped", r.reason = c.skip_reason;
    return r;
  }
  try {
    Prepared p = c.prepare();
    const Check chk = p.validate();
    r.check = chk.what, r.err = chk.err, r.tol = chk.tol, r.reference = p.reference;
    if (!chk.ok) {
      r.status = "FAILED", r.reason = "does not match its reference";
      return r;
    }
    const Timing t = time_it(p.ours, c.device, topt);
    r.ms = t.median_ms, r.min_ms = t.min_ms, r.repeats = t.repeats;
    const Bound bound = roofline_bound(p, peaks);
    r.flops = p.flops, r.bytes = p.bytes, r.bound = bound_name(bound);
    if (p.flops > 0) r.gflops = p.flops / (r.ms * 1e6);
    if (p.bytes > 0) r.gbs = p.bytes / (r.ms * 1e6);
    r.peak = peak_for(bound, peaks);
    const double achieved = bound == Bound::memory ? r.gbs : r.gflops;
    if (r.peak > 0 && achieved > 0) r.pct_peak = 100 * achieved / r.peak;
    r.status = "ok";
    if (p.yardstick.defined()) {
      r.yardstick = p.yardstick_name;
      try {
        r.yardstick_ms = time_it(p.yardstick, c.device, topt).median_ms;
        r.ratio = r.ms / r.yardstick_ms;
      } catch (const std::exception& e) {
        r.yardstick = p.yardstick_name + " failed: " + e.what();
      }
    } else {
      r.yardstick = p.yardstick_note.empty() ? "-" : p.yardstick_note;
    }
  } catch (const std::exception& e) {
    r.status = "error", r.reason = e.what();
  }
  return r;
}

int run(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  std::regex filter;
  try {
    filter = std::regex(s.filter.empty() ? std::string(".*") : s.filter);
  } catch (const std::regex_error& e) {
    throw Error(str_cat("--filter '", s.filter, "' is not a valid regular expression: ", e.what()));
  }
  set_num_threads(s.threads);
  if (s.coverage) {
    std::printf("%s", coverage_text(true).c_str());
    return 0;
  }

  BuildOptions bo;
  bo.quick = s.quick;
  bo.cpu = s.device != "cuda";
  bo.cuda = s.device != "cpu";
  const std::string why_not = cuda_unavailable_reason();
  if (!why_not.empty()) bo.cuda_skip = "not yet measured (" + why_not + ")";
  std::vector<Case> cases;
  for (const Case& c : registry_cases(bo))
    if (std::regex_search(c.name(), filter)) cases.push_back(c);

  if (s.list) {
    for (const Case& c : cases)
      std::printf("%-52s %s%s\n", c.name().c_str(), c.origin.c_str(),
                  c.skip_reason.empty() ? "" : (" [skipped: " + c.skip_reason + "]").c_str());
    std::printf("%zu cases\n", cases.size());
    return 0;
  }
  SDKD_CHECK(!cases.empty(), "--filter '", s.filter, "' matches no case (see --list)");

  bool any_cpu = false, any_gpu = false;
  for (const Case& c : cases) {
    any_cpu = any_cpu || c.device.is_cpu();
    any_gpu = any_gpu || (c.device.is_cuda() && c.skip_reason.empty());
  }
  const std::string gpu_name = why_not.empty() ? cuda_device_summary(0) : "none (" + why_not + ")";
  std::printf("sdkd-bench  CPU: %s, %d threads   GPU: %s\n", cpu_model().c_str(), s.threads, gpu_name.c_str());
  CpuPeaks cpu;
  if (any_cpu) {
    cpu = measure_cpu_peaks(s.threads);
    std::printf("CPU peak (%s): 1 thread %.1f GFLOP/s fp32, %.1f GB/s; %d threads %.1f GFLOP/s, %.1f GB/s\n",
                cpu.one_thread.source.c_str(), cpu.one_thread.fp32_gflops, cpu.one_thread.mem_gbs, s.threads,
                cpu.all.fp32_gflops, cpu.all.mem_gbs);
    std::printf("CPU GEMM: %s\n", cpu_gemm_summary().c_str());
    std::printf("CPU threads: %s\n", cpu_threads_summary().c_str());
  }
  const Peaks gpu = why_not.empty() ? gpu_peaks(gpu_name) : Peaks{};
  if (any_gpu && why_not.empty())
    std::printf("GPU peak (%s): fp32 %.0f GFLOP/s, TF32 %.0f GFLOP/s, memory %.0f GB/s\n", gpu.source.c_str(),
                gpu.fp32_gflops, gpu.tf32_gflops, gpu.mem_gbs);
  std::printf("timing: median of repeats after %d warm-up runs, >= %.3g s per case%s\n\n", s.quick ? 1 : 2, s.min_time,
              s.flush_l2 ? "; GPU: L2 flushed (256 MiB write) before each repeat" : "");
  print_header(std::cout);

  TimingOptions topt;
  topt.min_time_s = s.min_time;
  topt.warmup = s.quick ? 1 : 2;
  topt.flush_l2 = s.flush_l2;
  std::vector<Row> rows;
  int bad = 0;
  for (const Case& c : cases) {
    rows.push_back(run_case(c, topt, c.device.is_cuda() ? gpu : cpu.all));
    print_row(std::cout, rows.back());
    bad += rows.back().status == "FAILED" || rows.back().status == "error";
  }

  nlohmann::json j;
  j["tool"] = "sdkd-bench";
  j["cpu"] = {{"model", cpu_model()}, {"threads", s.threads}, {"gemm", cpu_gemm_summary()}};
  if (any_cpu)
    j["cpu"]["peaks"] = {{"source", cpu.all.source},
                         {"fp32_gflops", cpu.all.fp32_gflops},
                         {"mem_gbs", cpu.all.mem_gbs},
                         {"one_thread_fp32_gflops", cpu.one_thread.fp32_gflops},
                         {"one_thread_mem_gbs", cpu.one_thread.mem_gbs}};
  j["gpu"] = {{"device", gpu_name},
              {"peaks", {{"source", gpu.source}, {"fp32_gflops", gpu.fp32_gflops}, {"tf32_gflops", gpu.tf32_gflops},
                         {"mem_gbs", gpu.mem_gbs}}}};
  j["settings"] = {{"filter", s.filter}, {"quick", s.quick}, {"min_time_s", s.min_time}, {"device", s.device},
                   {"l2_flush", s.flush_l2}};
  j["rows"] = nlohmann::json::array();
  for (const Row& r : rows) j["rows"].push_back(row_json(r));
  if (!s.json.empty()) write_text_atomic(s.json, j.dump(2) + "\n");
  if (!s.csv.empty()) write_text_atomic(s.csv, csv_text(rows));
  if (bad) std::printf("\n%d case(s) FAILED validation or threw; see above\n", bad);
  return bad ? 3 : 0;
}

}  // namespace

}  // namespace sdkd::bench

int main(int argc, char** argv) {
  try {
    return sdkd::bench::run(argc, argv);
  } catch (const sdkd::Error& e) {
    std::fprintf(stderr, "sdkd-bench: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd-bench: internal error: %s\n", e.what());
    return 1;
  }
}
