#include "tools/pipeline/study_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "sdkd/distill/distiller.hpp"  // the method names
#include "sdkd/eval/paired_stats.hpp"

namespace sdkd::tools {

namespace {

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x / double(v.size());
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean) / double(v.size() - 1);
    s.sd = std::sqrt(s.sd);
  }
  return s;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.1f%%", 100 * v);
  return b;
}

// The paired change's own sampling error from the test windows: for one seed, the standard
// error of the mean per-window difference kd - alone, relative to the alone MSE; averaged over
// the seeds that have per-window scores for both.
double test_set_error(const std::vector<const EvalRow*>& kd, const std::vector<const EvalRow*>& alone) {
  std::vector<double> rel;
  for (size_t i = 0; i < kd.size() && i < alone.size(); ++i) {
    const auto& k = kd[i]->metrics.mse_per_sample;
    const auto& a = alone[i]->metrics.mse_per_sample;
    if (k.size() != a.size() || k.size() < 2) continue;
    std::vector<double> d(k.size());
    for (size_t w = 0; w < k.size(); ++w) d[w] = k[w] - a[w];
    rel.push_back(eval::standard_error(d) / alone[i]->metrics.mse);
  }
  return stat(rel).mean;
}

std::string verdict(const eval::Interval& iv) {
  if (iv.n < 2) return "one seed: no interval";
  if (!iv.excludes_zero()) return "no effect beyond noise";
  return iv.mean < 0 ? "gain" : "loss";
}

}  // namespace

StudySummary summarize_study(const std::vector<EvalRow>& rows, const std::vector<std::string>& methods) {
  const std::string none_name = distill::kd_method_name(distill::KDMethod::none);
  const std::string sdkd_name = distill::kd_method_name(distill::KDMethod::sdkd);
  std::vector<std::string> summary;
  std::map<std::string, std::vector<const EvalRow*>> by_method;
  for (const auto& row : rows)
    if (row.role == "student") by_method[row.kd].push_back(&row);
  const EvalRow* teacher = nullptr;
  for (const auto& row : rows)
    if (row.role == "teacher" && (!teacher || row.metrics.mse < teacher->metrics.mse)) teacher = &row;
  nlohmann::json summary_json = nlohmann::json::object();
  const auto& alone = by_method[none_name];
  for (const auto& mname : methods) {
    const auto& rs = by_method[mname];
    std::vector<double> mse, mae, dmse, dmae, gap;
    bool gap_defined = teacher != nullptr;
    for (size_t i = 0; i < rs.size(); ++i) {
      mse.push_back(rs[i]->metrics.mse);
      mae.push_back(rs[i]->metrics.mae);
      if (i < alone.size() && mname != none_name) {  // same seed, same initialisation: a paired difference
        const double a_mse = alone[i]->metrics.mse;
        dmse.push_back(rs[i]->metrics.mse / a_mse - 1);
        dmae.push_back(rs[i]->metrics.mae / alone[i]->metrics.mae - 1);
        // Gap closed needs a teacher better than this seed's student alone.
        if (teacher && a_mse > teacher->metrics.mse)
          gap.push_back((a_mse - rs[i]->metrics.mse) / (a_mse - teacher->metrics.mse));
        else
          gap_defined = false;
      }
    }
    const Stat m = stat(mse), a = stat(mae), dm = stat(dmse), da = stat(dmae);
    char line[512];
    std::snprintf(line, sizeof line, "student %-8s MSE %.4f ± %.4f, MAE %.4f ± %.4f over %zu seeds", mname.c_str(),
                  m.mean, m.sd, a.mean, a.sd, rs.size());
    std::string text = line;
    nlohmann::json js = {{"mse_mean", m.mean},     {"mse_sd", m.sd}, {"mae_mean", a.mean}, {"mae_sd", a.sd},
                         {"seeds", rs.size()},      {"mse_change_mean", dm.mean}, {"mse_change_sd", dm.sd},
                         {"mae_change_mean", da.mean}, {"mae_change_sd", da.sd}};
    if (!dmse.empty()) {
      const eval::Interval ci = eval::t_interval(dmse);
      text += "; vs alone: MSE " + eval::format_percent_interval(ci) + " (95% CI, paired t), MAE " + pct(da.mean);
      js["mse_change_ci"] = ci.to_json();
      js["verdict"] = verdict(ci);
      text += " -> " + verdict(ci);
      if (gap_defined && !gap.empty()) {
        const eval::Interval g = eval::t_interval(gap);
        text += "; gap to the teacher closed " + eval::format_percent_interval(g);
        js["gap_closed"] = g.to_json();
      }
      const double se = test_set_error(rs, alone);
      if (se > 0) {
        char b[160];
        std::snprintf(b, sizeof b, "; the test windows' own error in this change: %.1f%% (1 SE, %lld windows)",
                      100 * se, static_cast<long long>(rs.front()->metrics.samples));
        text += b;
        js["test_se_change"] = se;
      }
    }
    summary.push_back(text);
    summary_json[mname] = js;
  }
  if (teacher && !alone.empty()) {
    const EvalRow& st = *alone.front();
    const double gap = 1 - teacher->metrics.mse / stat([&] {
                         std::vector<double> v;
                         for (auto* x : alone) v.push_back(x->metrics.mse);
                         return v;
                       }()).mean;
    char line[512];
    // A teacher worse than the student (short smoke runs) is said so, not "-74% below".
    std::snprintf(line, sizeof line,
                  "teacher %s test MSE %.4f is %.1f%% %s the student alone's%s; student/teacher: params %.2f, "
                  "FLOPs %.2f, train time %.2f, step memory %.2f, latency %.2f",
                  teacher->model.c_str(), teacher->metrics.mse, 100 * std::fabs(gap), gap >= 0 ? "below" : "above",
                  gap >= 0 ? "" : " (the teacher is the worse model)",
                  double(st.params) / double(teacher->params),
                  double(st.flops) / double(teacher->flops), st.train_seconds / std::max(teacher->train_seconds, 1e-9),
                  double(st.peak_mem_bytes) / double(teacher->peak_mem_bytes), st.infer_ms / teacher->infer_ms);
    summary.push_back(line);
    summary_json["teacher_gap"] = gap;
    summary_json["teacher"] = teacher->model;  // for the report's headline
    summary_json["student"] = st.model;
    if (by_method.count(sdkd_name) && !by_method[sdkd_name].empty()) {
      std::vector<double> v;
      for (auto* x : by_method[sdkd_name]) v.push_back(x->metrics.mse);
      const double keep = teacher->metrics.mse / stat(v).mean;
      // Read right whichever model wins: a student better than its teacher does not "keep 157 %".
      if (keep <= 1)
        summary.push_back("the SDKD student keeps " + std::to_string(int(std::round(100 * keep))) +
                          "% of the teacher's accuracy (teacher MSE / student MSE)");
      else
        summary.push_back("the SDKD student's MSE is " + std::to_string(int(std::round(100 * (1 - 1 / keep)))) +
                          "% below the teacher's (the student is the better model here)");
      summary_json["sdkd_accuracy_ratio"] = keep;
    }
  }
  return {summary, summary_json};
}

}  // namespace sdkd::tools
