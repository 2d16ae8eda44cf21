#pragma once
// The Markdown results report: a headline paragraph, one table of models, free-form findings,
// embedded figures and where the numbers come from. Written atomically.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sdkd::report {

// One model's results. Anything not measured stays empty and prints as an em dash.
struct ReportRow {
  std::string model, role, kd;  // e.g. "unet", "student", "sdkd (T1+T2)"
  std::optional<int64_t> seed;
  std::optional<double> mse, mae, rel_l2, ssim, psnr;
  std::optional<int64_t> params;
  std::optional<double> flops;  // per sample, forward
  std::optional<double> train_seconds, infer_ms;
  std::optional<int64_t> peak_mem_bytes;
};

struct ReportImage {
  std::string path;     // relative to the report's folder
  std::string caption;  // alt text and the line under the image
};

struct ReportInput {
  std::string title;
  std::string headline;     // one paragraph right under the title (headline.hpp)
  std::string description;  // machine, preset, data: one paragraph under the headline
  std::vector<ReportRow> rows;
  std::vector<std::string> summary;  // each becomes one bullet under "Summary"
  std::vector<ReportImage> images;
  // (what, value) rows of the closing "## Provenance" table: commit, build, machine, command.
  std::vector<std::pair<std::string, std::string>> provenance;
};

// Number formats of the table cells (exposed for tests and other reports):
//   errors (mse, mae, rel_l2): 4 significant digits, scientific below 1e-3 or from 1e4 up
//   ssim: 4 decimals; psnr: 2 decimals (dB); params: "1.23M" / "45.6k" / "789";
//   flops: "1.23G" / "456.0M" ...; seconds: 1 decimal; ms: 2 decimals;
//   bytes: binary units "12.3 MiB". Non-finite values print as "nan", "inf", "-inf".
std::string format_error(double v);
std::string format_count(double v);  // k, M, G, T with 3 significant digits
std::string format_bytes(int64_t bytes);

// Writes the report: "# title", the headline, the description, the results table (header row,
// alignment row, one line per row in the given order), "## Summary" bullets, "## Figures"
// images, "## Provenance" table. Empty parts are left out. Table cells escape '|' so a name
// cannot break the table.
void write_report_md(const std::string& path, const ReportInput& input);

}  // namespace sdkd::report
