#pragma once
// One result row per case, printed as it completes and written as JSON / CSV at the end.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdkd::bench {

struct Row {
  std::string name, family, shape, device, origin;
  std::string op, op_family;  // the registry op and family of the perf entry it times
  std::string status;  // ok | FAILED (validation) | error (threw) | skipped
  std::string reason;  // why FAILED / error / skipped
  std::string check;   // the worst compared output
  std::string reference;  // what it was validated against
  double err = 0, tol = 0;
  double ms = 0, min_ms = 0;
  int repeats = 0;
  double flops = 0, bytes = 0;  // per call
  double gflops = 0, gbs = 0;   // achieved rates (0: not counted)
  std::string bound;            // fp32 | tf32 | memory | -
  double peak = 0;              // the peak the % is taken against (GFLOP/s or GB/s; 0: unknown)
  double pct_peak = 0;
  std::string yardstick;        // its name, or the note printed instead ("-", "cuDNN not available")
  double yardstick_ms = 0;      // 0: not measured
  double ratio = 0;             // ms / yardstick_ms: below 1 we are faster
};

void print_header(std::ostream& os);
void print_row(std::ostream& os, const Row& r);
nlohmann::json row_json(const Row& r);
std::string csv_text(const std::vector<Row>& rows);

}  // namespace sdkd::bench
