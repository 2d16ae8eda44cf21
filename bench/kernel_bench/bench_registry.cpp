// sdkd-bench's case list, enumerated from the op registry's perf entries
// (tests/ops/perf_registry.hpp): every entry gives its specialised rows (where it comes from a
// family table of perf_shapes.hpp) and generic rows for the directions those leave out, so each
// registry op family gets benchmark rows on its perf shapes; and the coverage listing with the
// rows actually built.
#include <algorithm>
#include <map>
#include <type_traits>
#include <variant>

#include "bench/kernel_bench/harness.hpp"
#include "ops/coverage.hpp"
#include "sdkd/error.hpp"

namespace sdkd::bench {

std::vector<Case> registry_cases(const BuildOptions& o) {
  std::vector<Case> out;
  for (const PerfCase& e : test::ops::perf_cases()) {
    if (e.quick != o.quick) continue;
    const Covered covered = std::visit(
        [&](const auto& typed) -> Covered {
          if constexpr (std::is_same_v<std::decay_t<decltype(typed)>, std::monostate>)
            return {};
          else
            return add_specialised_rows(out, o, e, *typed);
        },
        e.typed);
    SDKD_CHECK(e.fn || covered.fwd, "perf entry ", e.key(), " has neither an op nor a specialised benchmark");
    add_generic_rows(out, o, e, covered);
  }
  // The rows of a family together (an entry adds rows to several), families in order of appearance.
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < out.size(); ++i) first.emplace(out[i].family, i);
  std::stable_sort(out.begin(), out.end(),
                   [&](const Case& a, const Case& b) { return first.at(a.family) < first.at(b.family); });
  return out;
}

std::string coverage_text(bool probe_device) {
  BuildOptions all;  // bench-scale rows on both devices: what sdkd-bench times without --quick
  std::map<const PerfCase*, std::vector<std::string>> rows;
  for (const Case& c : registry_cases(all)) {
    auto& v = rows[c.entry];
    if (std::find(v.begin(), v.end(), c.family) == v.end()) v.push_back(c.family);
  }
  const auto rows_of = [&](const PerfCase& e) { return rows[&e]; };
  return test::ops::coverage_table(test::ops::coverage_rows(probe_device, rows_of));
}

}  // namespace sdkd::bench
