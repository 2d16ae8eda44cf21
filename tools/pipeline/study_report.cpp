#include "tools/pipeline/study_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/models/config_json.hpp"
#include "report/headline.hpp"
#include "report/palette.hpp"
#include "report/report.hpp"
#include "report/study_figures.hpp"
#include "sdkd/error.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

namespace {

// The name the figures and their palette give the student alone (report::run_name).
const std::string kAlone = "student alone";

// A row's optional number, through the checked readers: an edited metrics.json holding 1e30
// where an integer belongs is an error, not a conversion out of range.
template <class T>
std::optional<T> opt(const nlohmann::json& j, const std::string& where, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T>) return models::json_int(j[key], where, key, INT64_MIN, INT64_MAX);
  else return models::json_number(j[key], where, key, models::kAnyFinite);
}

// The shell the preset's first KD cutoff falls on: rho = k / (N/2) on a square grid, and
// k_max = N/2 there. 0 when the preset has no cutoffs.
double kd_cutoff_shell(const nlohmann::json& metrics, int k_max) {
  const auto preset = metrics.value("preset", nlohmann::json::object());
  const auto kd = preset.value("kd", nlohmann::json::object());
  if (!kd.contains("cutoffs") || !kd["cutoffs"].is_array() || kd["cutoffs"].empty() || !kd["cutoffs"][0].is_number())
    return 0;
  return kd["cutoffs"][0].get<double>() * double(k_max);
}

// One run name's rows (its seeds), in the order metrics.json lists them.
struct Run {
  std::string name, role;
  std::vector<const nlohmann::json*> rows;
};

report::SeedCurves curves_of(const Run& run, const char* key, const std::string& where) {
  report::SeedCurves c;
  c.name = run.name;
  c.paired = run.role == "student";
  for (const auto* r : run.rows) {
    if (!r->contains(key)) continue;
    c.seeds.push_back(r->value("seed", int64_t(0)));
    c.curves.push_back(models::json_numbers((*r)[key], where, key));
  }
  return c;
}

// history.json of each row's run folder (rows written before "run_dir" existed have none).
std::vector<report::TrainingHistory> histories(const std::string& out_dir, const std::vector<Run>& runs) {
  std::vector<report::TrainingHistory> out;
  for (const Run& run : runs)
    for (const auto* r : run.rows) {
      if (!r->contains("run_dir")) continue;
      const std::string path = (fs::path(out_dir) / (*r)["run_dir"].get<std::string>() / "history.json").string();
      if (!fs::exists(path)) continue;
      report::TrainingHistory h;
      h.name = run.name;
      h.seed = r->value("seed", int64_t(0));
      const nlohmann::json j = models::read_json_file(path);
      SDKD_CHECK(j.is_array(), path, ": expected an array of epochs");
      for (const auto& e : j) {
        h.epochs.push_back(double(models::json_int(models::json_required(e, path, "epoch"), path, "epoch", 0, INT64_MAX)));
        h.train_loss.push_back(models::json_number(models::json_required(e, path, "train_loss"), path, "train_loss",
                                                   models::kAnyFinite));
        h.val_mse.push_back(
            models::json_number(models::json_required(e, path, "val_mse"), path, "val_mse", models::kAnyFinite));
      }
      out.push_back(std::move(h));
    }
  return out;
}

// The headline from metrics.json's "summary" (tools/pipeline/study_summary.cpp); empty when
// the study has no student alone to compare with.
std::string headline_of(const nlohmann::json& metrics, const std::vector<std::string>& methods) {
  const nlohmann::json summary = metrics.value("summary", nlohmann::json::object());
  if (!summary.contains("none") || !summary["none"].is_object()) return "";
  const std::string where = "metrics.json: summary";
  auto num = [&](const nlohmann::json& j, const char* key) {
    return models::json_number(models::json_required(j, where, key), where, key, models::kAnyFinite);
  };
  auto count = [&](const nlohmann::json& j) {
    return models::json_int(models::json_required(j, where, "seeds"), where, "seeds", 0, INT64_MAX);
  };
  report::HeadlineInput in;
  in.student = summary.value("student", std::string());
  in.alone_mse = num(summary["none"], "mse_mean");
  in.alone_sd = num(summary["none"], "mse_sd");
  in.alone_seeds = count(summary["none"]);
  in.teacher = summary.value("teacher", std::string());
  if (summary.contains("teacher_gap")) in.teacher_gap = num(summary, "teacher_gap");
  for (const auto& m : methods) {
    if (m == "none" || !summary.contains(m)) continue;
    const auto& s = summary[m];
    report::MethodEffect e{m, num(s, "mse_change_mean"), num(s, "mse_change_sd"), count(s)};
    // The intervals (null where one seed gives none; absent in studies written before them).
    auto bound = [&](const char* section, const char* key) {
      if (!s.contains(section) || !s[section].is_object() || !s[section].contains(key) || s[section][key].is_null())
        return double(NAN);
      return num(s[section], key);
    };
    e.change_lo = bound("mse_change_ci", "lo"), e.change_hi = bound("mse_change_ci", "hi");
    e.gap_mean = bound("gap_closed", "mean"), e.gap_lo = bound("gap_closed", "lo"), e.gap_hi = bound("gap_closed", "hi");
    in.methods.push_back(e);
  }
  return report::headline(in);
}

std::vector<std::pair<std::string, std::string>> provenance_rows(const nlohmann::json& metrics) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (!metrics.contains("provenance") || !metrics["provenance"].is_object()) return rows;
  const auto& p = metrics["provenance"];
  auto text = [&](const char* key) {
    if (!p.contains(key) || p[key].is_null()) return std::string("unknown");
    return p[key].is_string() ? p[key].get<std::string>() : p[key].dump();
  };
  std::string commit = text("commit");
  if (p.contains("dirty") && p["dirty"].is_boolean())
    commit += p["dirty"].get<bool>() ? " (with uncommitted changes)" : " (clean)";
  std::string gpus;
  for (const auto& g : p.value("gpus", nlohmann::json::array())) gpus += (gpus.empty() ? "" : "; ") + g.dump();
  rows = {{"commit", commit},
          {"build", text("build_type") + ", " + text("compiler") + ", flags `" + text("cxx_flags") + "`"},
          {"CUDA", text("cuda")},
          {"BLAS", text("blas")},
          {"CPU GEMM", text("cpu_gemm")},
          {"CPU", text("cpu")},
          {"GPUs", gpus.empty() ? "none" : gpus},
          {"device", text("device")},
          {"threads", text("threads")},
          {"date (UTC)", text("date_utc")},
          {"command", "`" + text("command_line") + "`"}};
  return rows;
}

void write_report(const std::string& out_dir, const nlohmann::json& metrics) {
  SDKD_CHECK(metrics.contains("rows") && metrics["rows"].is_array(), out_dir, "/metrics.json: no 'rows' array");
  const std::string where = out_dir + "/metrics.json: rows";
  report::ReportInput rep;
  rep.title = "sdkd report: " + metrics.value("preset", nlohmann::json::object()).value("name", fs::path(out_dir).filename().string());
  rep.description = metrics.value("description", std::string());
  std::vector<Run> runs;
  std::map<std::string, size_t> index;
  std::vector<std::string> methods;  // the students' KD methods, first seen first
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
    if (rr.role == "student" && std::find(methods.begin(), methods.end(), rr.kd) == methods.end())
      methods.push_back(rr.kd);
    const std::string name = report::run_name(rr.role, rr.model, rr.kd);
    if (!index.count(name)) index[name] = runs.size(), runs.push_back({name, rr.role, {}});
    runs[index[name]].rows.push_back(&row);
  }
  rep.headline = headline_of(metrics, methods);
  for (const auto& line : metrics.value("summary_lines", std::vector<std::string>{})) rep.summary.push_back(line);
  rep.provenance = provenance_rows(metrics);

  // Lead-time errors and spectra: mean and spread over each run's seeds, and the paired change
  // against the student alone.
  std::vector<report::SeedCurves> lead, spectra, band_error;
  std::vector<double> truth;
  for (const Run& run : runs) {
    lead.push_back(curves_of(run, "rel_l2_per_lead", where));
    spectra.push_back(curves_of(run, "spectrum_pred", where));
    if (truth.empty() && run.rows.front()->contains("spectrum_true"))
      truth = models::json_numbers((*run.rows.front())["spectrum_true"], where, "spectrum_true");
  }
  // The relative error per shell from each row's error spectrum (rows written before it have none).
  for (const Run& run : runs) {
    report::SeedCurves c = curves_of(run, "spectrum_error", where);
    for (auto& curve : c.curves) {
      SDKD_CHECK(curve.size() == truth.size(), where, ": run '", run.name, "' has ", curve.size(),
                 " error-spectrum shells but the truth ", truth.size());
      for (size_t k = 0; k < curve.size(); ++k)
        curve[k] = truth[k] > 0 ? std::sqrt(curve[k] / truth[k]) : std::numeric_limits<double>::quiet_NaN();
    }
    if (!c.curves.empty()) band_error.push_back(c);
  }
  report::write_lead_time_figure((fs::path(out_dir) / "lead_time.svg").string(), lead, kAlone, "relative L2 error");
  if (truth.size() > 1) {
    // Shells up to min(H, W)/2 lie wholly inside the grid; the shell count is round(|(H/2, W/2)|) + 1
    // (eval/spectrum.hpp), which gives min(H, W)/2 back exactly for the square grids of the presets.
    const int k_max = int(std::lround(double(truth.size() - 1) / std::sqrt(2.0)));
    report::write_spectrum_figure((fs::path(out_dir) / "spectrum.svg").string(), truth, spectra, kAlone, k_max);
    if (!band_error.empty())
      report::write_band_error_figure((fs::path(out_dir) / "band_error.svg").string(), band_error, kAlone, k_max,
                                      kd_cutoff_shell(metrics, k_max));
  }
  const auto hist = histories(out_dir, runs);
  if (!hist.empty()) report::write_training_figure((fs::path(out_dir) / "training.svg").string(), hist);

  if (fs::exists(fs::path(out_dir) / "panels.png"))
    rep.images.push_back({"panels.png",
                          "one test trajectory: the truth, each shown model's forecast and its error per lead time "
                          "(models, seed and trajectory in the image's title; colour bars give the ranges)"});
  rep.images.push_back({"lead_time.svg",
                        "relative L2 error per lead time, mean and min-max over seeds; below, the paired change "
                        "against the student alone"});
  if (truth.size() > 1)
    rep.images.push_back({"spectrum.svg",
                          "enstrophy spectrum of the vorticity, truth and forecasts; below, the paired change per "
                          "wavenumber against the student alone"});
  if (truth.size() > 1 && !band_error.empty())
    rep.images.push_back({"band_error.svg",
                          "relative error per wavenumber shell of every model (the paper's Fig. 2 analogue); below, "
                          "the paired change per shell against the student alone"});
  if (!hist.empty())
    rep.images.push_back({"training.svg", "training loss and validation MSE per epoch of every run"});
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
