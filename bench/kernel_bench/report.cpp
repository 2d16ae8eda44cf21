// Table, JSON and CSV forms of the result rows.
#include "bench/kernel_bench/report.hpp"

#include <cstdio>
#include <ostream>
#include <sstream>

namespace sdkd::bench {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string rate(const Row& r) {
  if (r.bound == "memory" && r.gbs > 0) return fmt("%.1f GB/s", r.gbs);
  if (r.gflops > 0) return fmt("%.1f GFLOP/s", r.gflops);
  return "-";
}

std::string versus(const Row& r) {
  if (r.ratio > 0) return r.yardstick + " " + fmt("%.2fx", r.ratio);
  return r.yardstick.empty() ? "-" : r.yardstick;
}

constexpr const char* kRowFormat = "%-52s %-7s %10s %16s %6s  %-26s %s\n";

}  // namespace

void print_header(std::ostream& os) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kRowFormat, "case (family/shape/device)", "status", "ms", "rate", "%peak",
                "yardstick: ours/theirs", "check: max err / max|ref| (tol) vs reference");
  os << buf;
}

void print_row(std::ostream& os, const Row& r) {
  char buf[1024];
  if (r.status == "ok") {
    std::snprintf(buf, sizeof buf, kRowFormat, r.name.c_str(), "ok", fmt("%.4g", r.ms).c_str(), rate(r).c_str(),
                  r.pct_peak > 0 ? fmt("%.1f", r.pct_peak).c_str() : "-", versus(r).c_str(),
                  (r.check + " " + fmt("%.1e", r.err) + " (" + fmt("%.0e", r.tol) + ") vs " + r.reference).c_str());
  } else if (r.status == "FAILED") {
    std::snprintf(buf, sizeof buf, "%-52s %-7s not timed: %s %s\n", r.name.c_str(), "FAILED", r.reason.c_str(),
                  (r.check + " err " + fmt("%.2e", r.err) + " > tol " + fmt("%.0e", r.tol) + " vs " + r.reference).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%-52s %-7s %s\n", r.name.c_str(), r.status.c_str(), r.reason.c_str());
  }
  os << buf << std::flush;
}

nlohmann::json row_json(const Row& r) {
  nlohmann::json j = {{"name", r.name},       {"family", r.family},     {"shape", r.shape},   {"device", r.device},
                      {"op", r.op},           {"op_family", r.op_family},
                      {"origin", r.origin},   {"status", r.status},     {"reason", r.reason}, {"validated", r.status == "ok"},
                      {"check", r.check},     {"validated_against", r.reference}, {"max_rel_err", r.err},   {"tol", r.tol},       {"ms", r.ms},
                      {"min_ms", r.min_ms},   {"repeats", r.repeats},   {"flops", r.flops},   {"bytes", r.bytes},
                      {"gflops", r.gflops},   {"gbs", r.gbs},           {"bound", r.bound},   {"peak", r.peak},
                      {"pct_peak", r.pct_peak}, {"yardstick", r.yardstick}, {"yardstick_ms", r.yardstick_ms},
                      {"ratio", r.ratio}};
  return j;
}

std::string csv_text(const std::vector<Row>& rows) {
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::ostringstream os;
  os << "name,family,shape,device,status,reason,check,max_rel_err,tol,ms,min_ms,repeats,flops,bytes,gflops,gbs,bound,"
        "peak,pct_peak,yardstick,yardstick_ms,ratio,origin,validated_against,op,op_family\n";
  os.precision(6);
  for (const Row& r : rows)
    os << quote(r.name) << ',' << r.family << ',' << quote(r.shape) << ',' << r.device << ',' << r.status << ','
       << quote(r.reason) << ',' << r.check << ',' << r.err << ',' << r.tol << ',' << r.ms << ',' << r.min_ms << ','
       << r.repeats << ',' << r.flops << ',' << r.bytes << ',' << r.gflops << ',' << r.gbs << ',' << r.bound << ','
       << r.peak << ',' << r.pct_peak << ',' << quote(r.yardstick) << ',' << r.yardstick_ms << ',' << r.ratio << ','
       << quote(r.origin) << ',' << quote(r.reference) << ',' << quote(r.op) << ',' << r.op_family << '\n';
  return os.str();
}

}  // namespace sdkd::bench
