// The Markdown report: table layout, number formats, missing values, escaping, figures; and
// the spectrum SVG.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/toy.hpp"
#include "report/report.hpp"

namespace fs = std::filesystem;
using namespace sdkd::report;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Splits a Markdown table row "| a | b |" into trimmed cells, honouring "\|" escapes.
std::vector<std::string> cells_of(const std::string& row) {
  std::vector<std::string> cells;
  std::string cur;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') cur += row[++i];
    else if (row[i] == '|') {
      const size_t a = cur.find_first_not_of(' '), b = cur.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cur.substr(a, b - a + 1));
      cur.clear();
    } else cur += row[i];
  }
  return cells;
}

const std::string kDash = "\u2014";

}  // namespace

TEST_CASE("report: number formats", "[report]") {
  CHECK(format_error(0.141) == "0.1410");
  CHECK(format_error(12.3456) == "12.35");
  CHECK(format_error(2.5e-5) == "2.500e-05");
  CHECK(format_error(0.0) == "0");
  CHECK(format_error(std::nan("")) == "nan");
  CHECK(format_count(512) == "512");
  CHECK(format_count(45'600) == "45.6k");
  CHECK(format_count(1'234'567) == "1.23M");
  CHECK(format_count(999'999) == "1.00M");
  CHECK(format_count(3.2e9) == "3.20G");
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(3 * 1024 * 1024 + 512 * 1024) == "3.5 MiB");
}

TEST_CASE("report: Markdown table with one line per row, formatted numbers and em dashes", "[report]") {
  const sdkd::test::TempDir tmp("report");
  ReportInput in;
  in.title = "NS forecasting, demo preset";
  in.description = "2 CPU cores, 64x64 vorticity.";
  ReportRow teacher;
  teacher.model = "st-alternet";
  teacher.role = "teacher";
  teacher.kd = "none";
  teacher.seed = 0;
  teacher.mse = 0.0123456;
  teacher.mae = 0.0871;
  teacher.rel_l2 = 0.156;
  teacher.ssim = 0.91234;
  teacher.psnr = 31.4159;
  teacher.params = 2'345'678;
  teacher.flops = 1.5e9;
  teacher.train_seconds = 812.34;
  teacher.infer_ms = 12.345;
  teacher.peak_mem_bytes = int64_t(300) * 1024 * 1024;
  ReportRow student;  // only a name and an MSE: everything else missing
  student.model = "unet|small";
  student.mse = 0.2;
  in.rows = {teacher, student};
  in.summary = {"SDKD lowers the student's MSE.", "Second finding."};
  in.images = {{"figures/spectrum.svg", "Energy spectra"}};
  const std::string path = tmp / "report.md";
  write_report_md(path, in);

  const std::vector<std::string> lines = lines_of(path);
  REQUIRE(lines.size() > 6);
  CHECK(lines[0] == "# NS forecasting, demo preset");
  CHECK(lines[2] == "2 CPU cores, 64x64 vorticity.");
  const std::vector<std::string> header = cells_of(lines[4]);
  const std::vector<std::string> expect_header = {"model", "role", "KD", "seed", "MSE", "MAE", "rel L2",
                                                  "SSIM", "PSNR (dB)", "params", "FLOPs/sample", "train (s)",
                                                  "infer (ms)", "peak mem"};
  CHECK(header == expect_header);
  CHECK(cells_of(lines[5]).size() == header.size());
  const std::vector<std::string> t = cells_of(lines[6]), s = cells_of(lines[7]);
  const std::vector<std::string> expect_t = {"st-alternet", "teacher", "none", "0", "0.01235", "0.08710",
                                             "0.1560", "0.9123", "31.42", "2.35M", "1.50G", "812.3",
                                             "12.35", "300.0 MiB"};
  CHECK(t == expect_t);
  REQUIRE(s.size() == header.size());
  CHECK(s[0] == "unet|small");  // the '|' was escaped, so the row still has all its cells
  CHECK(s[4] == "0.2000");
  for (size_t i = 1; i < s.size(); ++i)
    if (i != 4) CHECK(s[i] == kDash);
  // Exactly one table line per row: the line after the last row is not part of the table.
  CHECK(lines[8].empty());

  std::ostringstream all;
  for (const auto& l : lines) all << l << "\n";
  CHECK_THAT(all.str(), Contains("## Summary\n\n- SDKD lowers the student's MSE.\n- Second finding.\n"));
  CHECK_THAT(all.str(), Contains("![Energy spectra](figures/spectrum.svg)"));
  // Written atomically: nothing but the report is left in the folder.
  CHECK(std::distance(fs::directory_iterator(tmp.dir), {}) == 1);
}

TEST_CASE("report: the headline opens the report, the provenance table closes it", "[report]") {
  const sdkd::test::TempDir tmp("report_prov");
  ReportInput in;
  in.title = "study";
  in.headline = "**Headline.** Nothing beats seed noise.";
  in.description = "Preset demo.";
  ReportRow r;
  r.model = "unet";
  r.mse = 0.25;
  in.rows = {r};
  in.provenance = {{"commit", "a7ef709 (clean)"}, {"command", "`sdkd demo --out a|b`"}};
  const std::string path = tmp / "report.md";
  write_report_md(path, in);
  const std::vector<std::string> lines = lines_of(path);
  REQUIRE(lines.size() > 10);
  CHECK(lines[0] == "# study");
  CHECK(lines[2] == in.headline);
  CHECK(lines[4] == in.description);
  CHECK(cells_of(lines[6])[0] == "model");
  // The last lines: the Provenance table, one row per entry, '|' escaped inside a cell.
  const size_t n = lines.size();
  CHECK(lines[n - 6] == "## Provenance");
  CHECK(cells_of(lines[n - 4]) == std::vector<std::string>{"what", "value"});
  CHECK(cells_of(lines[n - 2]) == std::vector<std::string>{"commit", "a7ef709 (clean)"});
  CHECK(cells_of(lines[n - 1]) == std::vector<std::string>{"command", "`sdkd demo --out a|b`"});
}
