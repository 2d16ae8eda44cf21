#include "tools/pipeline/eval_row.hpp"

#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace sdkd::tools {

namespace {

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// The table's columns, written once for the header and the rows. `shown` is the member of
// TableColumns that turns an optional column off (nullptr: always shown).
struct Column {
  const char* head;
  int width;
  bool left;  // text left-aligned, numbers right-aligned
  bool TableColumns::*shown;
  std::function<std::string(const EvalRow&)> cell;
};

const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      {"model", 12, true, nullptr, [](const EvalRow& r) { return r.model; }},
      {"role", 9, true, nullptr, [](const EvalRow& r) { return r.role; }},
      {"kd", 9, true, &TableColumns::kd, [](const EvalRow& r) { return r.kd; }},
      {"seed", 5, true, &TableColumns::seed, [](const EvalRow& r) { return std::to_string(r.seed); }},
      {"MSE", 9, false, nullptr, [](const EvalRow& r) { return fixed(r.metrics.mse, 4); }},
      {"MAE", 9, false, nullptr, [](const EvalRow& r) { return fixed(r.metrics.mae, 4); }},
      {"relL2", 8, false, nullptr, [](const EvalRow& r) { return fixed(r.metrics.rel_l2, 4); }},
      {"SSIM", 8, false, nullptr, [](const EvalRow& r) { return fixed(r.extra.ssim, 4); }},
      {"PSNR", 8, false, nullptr, [](const EvalRow& r) { return fixed(r.extra.psnr, 2); }},
      {"params", 9, false, nullptr, [](const EvalRow& r) { return std::to_string(r.params); }},
      {"GFLOPs", 9, false, nullptr, [](const EvalRow& r) { return fixed(double(r.flops) * 1e-9, 3); }},
      {"train s", 9, false, &TableColumns::train_seconds, [](const EvalRow& r) { return fixed(r.train_seconds, 1); }},
      {"infer ms", 9, false, nullptr, [](const EvalRow& r) { return fixed(r.infer_ms, 2); }},
  };
  return cols;
}

// One line of the table: the shown columns' texts, padded to their widths.
void print_line(std::ostream& os, TableColumns cols, const std::function<std::string(const Column&)>& text) {
  for (const auto& c : columns()) {
    if (c.shown && !(cols.*c.shown)) continue;
    os << (c.left ? std::left : std::right) << std::setw(c.width) << text(c);
  }
  os << std::right << "\n";
}

}  // namespace

void print_table(const std::vector<EvalRow>& rows, std::ostream& os, TableColumns cols) {
  print_line(os, cols, [](const Column& c) { return std::string(c.head); });
  for (const auto& r : rows) print_line(os, cols, [&](const Column& c) { return c.cell(r); });
}

nlohmann::json rows_json(const std::vector<EvalRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = r.metrics.to_json();
    j["model"] = r.model;
    j["role"] = r.role;
    j["kd"] = r.kd;
    j["seed"] = r.seed;
    j["ssim"] = r.extra.ssim;
    j["psnr"] = r.extra.psnr;
    j["low_band_err"] = r.extra.low_band_err;
    j["high_band_err"] = r.extra.high_band_err;
    j["spectrum_pred"] = r.extra.spectrum_pred;
    j["spectrum_true"] = r.extra.spectrum_true;
    j["spectrum_error"] = r.extra.spectrum_error;
    j["params"] = r.params;
    j["flops"] = r.flops;
    j["train_seconds"] = r.train_seconds;
    j["infer_ms"] = r.infer_ms;
    j["peak_mem_bytes"] = r.peak_mem_bytes;
    a.push_back(j);
  }
  return {{"rows", a}};
}

}  // namespace sdkd::tools
