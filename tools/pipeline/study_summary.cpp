#include "tools/pipeline/study_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "distill/distiller.hpp"  // the method names

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
    std::vector<double> mse, mae, dmse, dmae;
    for (size_t i = 0; i < rs.size(); ++i) {
      mse.push_back(rs[i]->metrics.mse);
      mae.push_back(rs[i]->metrics.mae);
      if (i < alone.size() && mname != none_name) {  // same seed, same initialisation: a paired difference
        dmse.push_back(rs[i]->metrics.mse / alone[i]->metrics.mse - 1);
        dmae.push_back(rs[i]->metrics.mae / alone[i]->metrics.mae - 1);
      }
    }
    const Stat m = stat(mse), a = stat(mae), dm = stat(dmse), da = stat(dmae);
    char line[512];
    std::snprintf(line, sizeof line, "student %-8s MSE %.4f ± %.4f, MAE %.4f ± %.4f over %zu seeds", mname.c_str(),
                  m.mean, m.sd, a.mean, a.sd, rs.size());
    std::string text = line;
    if (!dmse.empty())
      text += ", vs alone: MSE " + pct(dm.mean) + " (sd " + pct(dm.sd).substr(1) + "), MAE " + pct(da.mean) + " (sd " +
              pct(da.sd).substr(1) + ")";
    summary.push_back(text);
    summary_json[mname] = {{"mse_mean", m.mean}, {"mse_sd", m.sd},       {"mae_mean", a.mean}, {"mae_sd", a.sd},
                            {"seeds", rs.size()}, {"mse_change_mean", dm.mean}, {"mse_change_sd", dm.sd},
                            {"mae_change_mean", da.mean}, {"mae_change_sd", da.sd}};
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
      summary.push_back("the SDKD student keeps " + std::to_string(int(std::round(100 * keep))) +
                        "% of the teacher's accuracy (teacher MSE / student MSE)");
      summary_json["sdkd_accuracy_ratio"] = keep;
    }
  }
  return {summary, summary_json};
}

}  // namespace sdkd::tools
