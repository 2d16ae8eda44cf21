// The coverage listing (coverage.hpp): per case where it runs, the benchmark column from the perf
// entries that time its op.
#include "ops/coverage.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "sdkd/device.hpp"

namespace sdkd::test::ops {

namespace {

void add_once(std::vector<std::string>& v, const std::vector<std::string>& more) {
  for (const std::string& s : more)
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::vector<std::string> rows_for(const std::vector<const PerfCase*>& entries, const BenchRowsOf& rows_of) {
  std::vector<std::string> out;
  for (const PerfCase* p : entries) add_once(out, rows_of ? rows_of(*p) : std::vector<std::string>{p->stem});
  return out;
}

// The CUDA column of a case from a run on the device: forward and backward against the CPU twin.
void probe_cuda(const OpCase& c, CoverageRow& r) {
  try {
    std::string failed;
    for (const Comparison& cmp : run_backend(c, Device{DeviceType::cuda, 0}))
      if (!cmp.passed()) failed = cmp.error.empty() ? cmp.what + " off by " + std::to_string(cmp.ratio) + "x the bound" : cmp.error;
    r.cuda = true;
    r.cuda_source = failed.empty() ? "ran on cuda:0" : "ran on cuda:0 and FAILED: " + failed;
  } catch (const std::exception& e) {
    r.cuda = false;
    r.cuda_source = std::string("threw on cuda:0: ") + e.what();
  }
}

}  // namespace

std::vector<const PerfCase*> perf_entries_for(const OpCase& c) {
  std::vector<const PerfCase*> out;
  for (const PerfCase& p : perf_cases())
    if (!p.quick && times(p, c)) out.push_back(&p);
  return out;
}

std::vector<std::string> bench_families(const OpCase& c) { return rows_for(perf_entries_for(c), nullptr); }

std::vector<CoverageRow> coverage_rows(bool probe_device, const BenchRowsOf& rows_of) {
  const bool probe = probe_device && cuda_unavailable_reason().empty();
  std::vector<CoverageRow> rows;
  for (const OpCase& c : registry()) {
    CoverageRow r;
    r.name = c.name;
    r.family = c.family;
    r.grad = c.has_grad_inputs();
    r.bench = rows_for(perf_entries_for(c), rows_of);
    if (probe) {
      probe_cuda(c, r);
    } else {
      r.cuda = c.cuda;
      r.cuda_source = "registry flag";
    }
    rows.push_back(std::move(r));
  }
  // The perf-only ops, one row each (named by their stem), benchmarked by their entries.
  std::map<std::string, size_t> perf_only_row;
  for (const PerfCase& p : perf_cases()) {
    if (p.quick || std::find(perf_only_families().begin(), perf_only_families().end(), p.family) == perf_only_families().end())
      continue;
    auto [it, fresh] = perf_only_row.emplace(p.stem, rows.size());
    if (fresh) {
      CoverageRow r;
      r.name = p.stem, r.family = p.family, r.cuda = p.cuda, r.cuda_source = "registry flag";
      rows.push_back(std::move(r));
    }
    add_once(rows[it->second].bench, rows_for({&p}, rows_of));
  }
  return rows;
}

std::string coverage_table(const std::vector<CoverageRow>& rows) {
  size_t wn = 4, wf = 6;
  for (const auto& r : rows) wn = std::max(wn, r.name.size()), wf = std::max(wf, r.family.size());
  std::ostringstream s;
  auto cell = [](const std::string& v, size_t w) { return v + std::string(w > v.size() ? w - v.size() : 0, ' '); };
  s << cell("case", wn) << " | " << cell("family", wf) << " | CPU | CUDA | grad | bench\n";
  s << std::string(wn, '-') << "-|-" << std::string(wf, '-') << "-|-----|------|------|------\n";
  size_t cuda = 0, grad = 0, bench = 0;
  std::vector<std::string> notes, family_order;
  std::map<std::string, std::pair<size_t, size_t>> per_family;  // benchmarked, rows
  for (const auto& r : rows) {
    std::string b;
    for (const auto& f : r.bench) b += (b.empty() ? "" : ",") + f;
    s << cell(r.name, wn) << " | " << cell(r.family, wf) << " | " << cell(r.cpu ? "yes" : "no", 3) << " | "
      << cell(r.cuda ? "yes" : "no", 4) << " | " << cell(r.grad ? "yes" : "no", 4) << " | "
      << (b.empty() ? "no" : "yes (" + b + ")") << "\n";
    cuda += r.cuda, grad += r.grad, bench += !r.bench.empty();
    if (!per_family.count(r.family)) family_order.push_back(r.family);
    per_family[r.family].first += !r.bench.empty();
    per_family[r.family].second += 1;
    if (r.cuda_source != "ran on cuda:0" && r.cuda_source != "registry flag") notes.push_back(r.name + ": " + r.cuda_source);
  }
  s << rows.size() << " rows (registry cases and perf-only ops): CPU " << rows.size() << ", CUDA " << cuda << ", gradient check " << grad << ", benchmark "
    << bench << "\n";
  size_t benched_families = 0;
  s << "benchmarked per family:";
  for (const std::string& f : family_order) {
    const auto [b, n] = per_family[f];
    benched_families += b > 0;
    s << " " << f << " " << b << "/" << n;
  }
  s << "\nfamilies with benchmark rows: " << benched_families << " of " << family_order.size() << "\n";
  const std::string why = cuda_unavailable_reason();
  if (!why.empty())
    s << "CUDA column from the registry's per-case flag (read off engine/src/ops_*.cpp): no device here (" << why << ")\n";
  for (const auto& n : notes) s << "CUDA " << n << "\n";
  return s.str();
}

}  // namespace sdkd::test::ops
