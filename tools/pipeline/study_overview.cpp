#include "tools/pipeline/study_overview.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "report/svg_plot.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "tools/provenance.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

namespace {

// "+1.2% [-0.8, +3.1]" from an interval's JSON (eval::Interval::to_json), "-" when absent.
std::string percent_interval(const nlohmann::json& iv) {
  if (!iv.is_object() || !iv.contains("mean") || !iv["mean"].is_number()) return "-";
  const double m = iv.value("mean", 0.0);
  const auto lo = iv.value("lo", nlohmann::json()), hi = iv.value("hi", nlohmann::json());
  char b[96];
  if (lo.is_number() && hi.is_number() && std::isfinite(lo.get<double>()))
    std::snprintf(b, sizeof b, "%+.1f%% [%+.1f, %+.1f]", 100 * m, 100 * lo.get<double>(), 100 * hi.get<double>());
  else
    std::snprintf(b, sizeof b, "%+.1f%%", 100 * m);
  return b;
}

// study_<name>_gap.svg: gap closed per regime (x = the regime's place in the study), each
// arm's mean with its 95 % interval as the band, a zero line; the regimes named in the notes.
void write_gap_figure(const nlohmann::json& ov, const std::string& path) {
  report::PlotFigure fig;
  fig.title = "gap closed per regime: study " + ov.value("name", std::string());
  fig.x_label = "regime (see below)";
  report::PlotPanel panel;
  panel.y_label = "gap closed (%)";
  panel.zero_line = true;
  std::map<std::string, report::LineSeries> by_arm;
  std::vector<std::string> order;
  std::string names;
  double x = 0;
  for (const auto& r : ov.value("regimes", nlohmann::json::array())) {
    x += 1;
    names += str_cat(names.empty() ? "" : ", ", x, " = ", r.value("name", std::string()));
    for (const auto& a : r.value("arms", nlohmann::json::array())) {
      const std::string arm = a.value("arm", std::string());
      const nlohmann::json g = a.value("gap_closed", nlohmann::json());
      if (arm == "none" || !g.is_object() || !g.value("mean", nlohmann::json()).is_number()) continue;
      if (!by_arm.count(arm)) order.push_back(arm), by_arm[arm].name = arm;
      auto& s = by_arm[arm];
      auto num = [&](const char* k) {
        const auto v = g.value(k, nlohmann::json());
        return v.is_number() ? 100 * v.get<double>() : std::nan("");
      };
      s.xs.push_back(x);
      s.ys.push_back(num("mean"));
      s.lo.push_back(num("lo"));
      s.hi.push_back(num("hi"));
    }
  }
  for (const auto& arm : order) panel.series.push_back(by_arm[arm]);
  fig.panels.push_back(panel);
  fig.notes.push_back("Regimes: " + names + ".");
  fig.notes.push_back("Gap closed = (MSE alone - MSE arm) / (MSE alone - MSE teacher) per seed; mean and 95 % Student-t");
  fig.notes.push_back("interval over the paired seeds (band). Above the zero line the arm moves the student toward its teacher.");
  report::write_svg_plot(path, fig);
}

}  // namespace

nlohmann::json write_study_overview(const StudyPlan& plan, const std::vector<nlohmann::json>& metrics,
                                    const std::vector<std::string>& regime_dirs, const std::string& out) {
  SDKD_CHECK(metrics.size() == plan.regimes.size() && regime_dirs.size() == plan.regimes.size(),
             "study overview: one metrics.json per regime");
  nlohmann::json ov = {{"name", plan.name}, {"about", plan.about}, {"seeds", plan.seeds}, {"provenance", provenance()}};
  ov["test_data"] = metrics.front().value("test_data", std::string());
  ov["test_windows"] = metrics.front().value("test_windows", int64_t(0));
  nlohmann::json regimes = nlohmann::json::array();
  for (size_t r = 0; r < plan.regimes.size(); ++r) {
    const nlohmann::json& m = metrics[r];
    const nlohmann::json summary = m.value("summary", nlohmann::json::object());
    const nlohmann::json selection = m.value("selection", nlohmann::json::object());
    nlohmann::json arms = nlohmann::json::array();
    for (const auto& arm : plan.arms) {
      const nlohmann::json s = summary.value(arm.name, nlohmann::json::object());
      nlohmann::json a = {{"arm", arm.name}, {"mse_mean", s.value("mse_mean", 0.0)}, {"mse_sd", s.value("mse_sd", 0.0)},
                          {"seeds", s.value("seeds", 0)}};
      for (const char* key : {"mse_change_ci", "verdict", "gap_closed", "test_se_change"})
        if (s.contains(key)) a[key] = s[key];
      if (selection.contains(arm.name)) {
        a["chosen"] = selection[arm.name]["chosen_label"];
        a["candidates"] = selection[arm.name]["candidates"].size();
      }
      arms.push_back(a);
    }
    regimes.push_back({{"name", plan.regimes[r].name},
                       {"patch", plan.regimes[r].patch},
                       {"dir", fs::relative(regime_dirs[r], out).generic_string()},
                       {"teacher", summary.value("teacher", std::string())},
                       {"teacher_gap", summary.value("teacher_gap", 0.0)},
                       {"arms", arms}});
  }
  ov["regimes"] = regimes;
  write_text_atomic((fs::path(out) / ("study_" + plan.name + ".json")).string(), ov.dump(2) + "\n");
  write_text_atomic((fs::path(out) / ("study_" + plan.name + ".md")).string(), study_overview_markdown(ov));
  if (plan.regimes.size() > 1) write_gap_figure(ov, (fs::path(out) / ("study_" + plan.name + "_gap.svg")).string());
  return ov;
}

std::string study_overview_markdown(const nlohmann::json& ov) {
  std::string md = "# Study " + ov.value("name", std::string()) + "\n\n";
  if (!ov.value("about", std::string()).empty()) md += ov["about"].get<std::string>() + "\n\n";
  md += str_cat("Each arm over ", ov.value("seeds", 0), " paired seeds (seed s of every arm starts from the same ",
                "initialisation), scored on ", ov.value("test_windows", int64_t(0)), " test windows of `",
                ov.value("test_data", std::string()), "`. Change: the paired relative change of the test MSE against ",
                "the student alone, mean and 95 % Student-t interval over seeds; gap closed: (MSE alone - MSE arm) / ",
                "(MSE alone - MSE teacher), likewise. An arm with a grid shows the candidate chosen on the validation ",
                "split (lowest mean validation MSE); only that candidate was scored on the test set. A gain or loss ",
                "is claimed only where the interval excludes zero.\n\n");
  md += "| regime | arm | chosen on validation | test MSE (mean ± sd) | change vs alone [95 % CI] | verdict | gap closed [95 % CI] |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (const auto& r : ov.value("regimes", nlohmann::json::array())) {
    const std::string regime = r.value("name", std::string()).empty() ? "-" : r["name"].get<std::string>();
    for (const auto& a : r.value("arms", nlohmann::json::array())) {
      char mse[64];
      std::snprintf(mse, sizeof mse, "%.5f ± %.5f", a.value("mse_mean", 0.0), a.value("mse_sd", 0.0));
      const bool ref = a.value("arm", std::string()) == "none";
      md += str_cat("| ", regime, " | ", a.value("arm", std::string()), " | ", a.value("chosen", std::string("-")), " | ",
                    mse, " | ", ref ? "reference" : percent_interval(a.value("mse_change_ci", nlohmann::json())), " | ",
                    ref ? "-" : a.value("verdict", std::string("-")), " | ",
                    ref ? "-" : percent_interval(a.value("gap_closed", nlohmann::json())), " |\n");
    }
  }
  md += "\nEach regime's own report (table, figures, selection): its folder's report.md.\n";
  return md;
}

}  // namespace sdkd::tools
