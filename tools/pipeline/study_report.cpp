#include "tools/pipeline/study_report.hpp"

#include <filesystem>
#include <map>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/config_json.hpp"
#include "report/figures.hpp"
#include "report/report.hpp"
#include "sdkd/error.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

namespace {

// A row's optional number, through the checked readers: an edited metrics.json holding 1e30
// where an integer belongs is an error, not a conversion out of range.
template <class T>
std::optional<T> opt(const nlohmann::json& j, const std::string& where, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T>) return models::json_int(j[key], where, key, INT64_MIN, INT64_MAX);
  else return models::json_number(j[key], where, key, models::kAnyFinite);
}

// Mean of a per-row list over the rows of one (model, role, kd) group (the seeds).
std::vector<double> mean_list(const std::vector<const nlohmann::json*>& rows, const char* key) {
  std::vector<double> out;
  for (const auto* r : rows) {
    const auto v = r->value(key, std::vector<double>{});
    if (out.empty()) out.assign(v.size(), 0.0);
    for (size_t i = 0; i < v.size() && i < out.size(); ++i) out[i] += v[i] / double(rows.size());
  }
  return out;
}

void write_report(const std::string& out_dir, const nlohmann::json& metrics) {
  SDKD_CHECK(metrics.contains("rows") && metrics["rows"].is_array(), out_dir, "/metrics.json: no 'rows' array");
  const std::string where = out_dir + "/metrics.json: rows";
  report::ReportInput rep;
  rep.title = "sdkd report: " + metrics.value("preset", nlohmann::json::object()).value("name", fs::path(out_dir).filename().string());
  rep.description = metrics.value("description", std::string());
  std::vector<std::string> order;
  std::map<std::string, std::vector<const nlohmann::json*>> groups;
  for (const auto& row : metrics["rows"]) {
    report::ReportRow rr;
    rr.model = row.value("model", std::string("?"));
    rr.role = row.value("role", std::string("student"));
    rr.kd = row.value("kd", std::string("none"));
    if (rr.role == "student") rr.seed = opt<int64_t>(row, where, "seed");
    rr.mse = opt<double>(row, where, "mse");
    rr.mae = opt<double>(row, where, "mae");
    rr.rel_l2 = opt<double>(row, where, "rel_l2");
    rr.ssim = opt<double>(row, where, "ssim");
    rr.psnr = opt<double>(row, where, "psnr");
    if (rr.role != "baseline") {
      rr.params = opt<int64_t>(row, where, "params");
      if (auto f = opt<int64_t>(row, where, "flops")) rr.flops = double(*f);
      rr.train_seconds = opt<double>(row, where, "train_seconds");
      rr.infer_ms = opt<double>(row, where, "infer_ms");
      rr.peak_mem_bytes = opt<int64_t>(row, where, "peak_mem_bytes");
    }
    rep.rows.push_back(rr);
    const std::string key = rr.role == "student" ? rr.model + " + " + rr.kd : rr.model;
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&row);
  }
  for (const auto& line : metrics.value("summary_lines", std::vector<std::string>{})) rep.summary.push_back(line);

  // Lead-time errors and spectra, averaged over the seeds of each group.
  std::vector<report::LineSeries> lead;
  std::vector<std::pair<std::string, std::vector<double>>> spectra;
  for (const auto& key : order) {
    const auto ys = mean_list(groups[key], "rel_l2_per_lead");
    report::LineSeries s{key, {}, ys};
    for (size_t k = 0; k < ys.size(); ++k) s.xs.push_back(double(k + 1));
    lead.push_back(s);
    if (spectra.empty()) spectra.emplace_back("truth", mean_list(groups[key], "spectrum_true"));
    spectra.emplace_back(key, mean_list(groups[key], "spectrum_pred"));
  }
  report::write_svg_lines((fs::path(out_dir) / "lead_time.svg").string(), "relative L2 error per lead time",
                          "lead time (frames)", "relative L2 (mean over seeds)", lead);
  const size_t shells = spectra.empty() ? 0 : spectra.front().second.size();
  if (shells > 1) {
    report::write_spectrum_svg((fs::path(out_dir) / "spectrum.svg").string(),
                               "radial energy spectrum of the forecasts (test split, mean over seeds)", spectra,
                               int(shells) / 2);
  }
  if (fs::exists(fs::path(out_dir) / "panels.png"))
    rep.images.push_back({"panels.png", "truth, prediction, error and persistence error for one test trajectory"});
  rep.images.push_back({"lead_time.svg", "relative L2 error per lead time"});
  if (shells > 1) rep.images.push_back({"spectrum.svg", "radial energy spectrum E(k) of truth and forecasts"});
  report::write_report_md((fs::path(out_dir) / "report.md").string(), rep);
}

}  // namespace

void write_study_report(const std::string& out_dir, const nlohmann::json& metrics) {
  // metrics.json may have been edited: any value of the wrong shape is one error naming it.
  try {
    write_report(out_dir, metrics);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(out_dir, "/metrics.json: unexpected content: ", e.what()));
  }
}

}  // namespace sdkd::tools
