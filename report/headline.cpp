#include "report/headline.hpp"

#include <cmath>
#include <cstdio>

namespace sdkd::report {

namespace {

std::string printf_str(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
std::string signed_pct(double fraction) { return printf_str("%+.1f%%", 100 * fraction); }
std::string pct(double fraction) { return printf_str("%.1f%%", 100 * fraction); }
std::string seeds_text(int64_t n) { return std::to_string(n) + (n == 1 ? " seed" : " seeds"); }

}  // namespace

bool clear_gain(const MethodEffect& m) { return m.seeds >= 2 && std::isfinite(m.change_hi) && m.change_hi < 0; }
bool clear_loss(const MethodEffect& m) { return m.seeds >= 2 && std::isfinite(m.change_lo) && m.change_lo > 0; }

namespace {

// "+1.2% (95% CI [-0.8, +3.1], paired t over 5 seeds)"
std::string change_text(const MethodEffect& m) {
  return signed_pct(m.change_mean) + " (95% CI [" + printf_str("%+.1f", 100 * m.change_lo) + ", " +
         printf_str("%+.1f", 100 * m.change_hi) + "], paired t over " + seeds_text(m.seeds) + ")";
}
// ", closing 41% [12, 70] of the gap to the teacher" where the gap is defined.
std::string gap_text(const MethodEffect& m) {
  if (!std::isfinite(m.gap_mean)) return "";
  std::string o = ", closing " + pct(m.gap_mean);
  if (std::isfinite(m.gap_lo)) o += " [" + printf_str("%.0f", 100 * m.gap_lo) + ", " + printf_str("%.0f", 100 * m.gap_hi) + "]";
  return o + " of the gap to the teacher";
}

}  // namespace

std::string headline(const HeadlineInput& in) {
  const std::string student = in.student.empty() ? "student" : in.student + " student";
  std::string o = "**Headline.** The " + student + " alone has a test MSE of " + printf_str("%.4f", in.alone_mse);
  o += in.alone_seeds >= 2 ? " ± " + printf_str("%.4f", in.alone_sd) + " (sd over " + seeds_text(in.alone_seeds) + ")"
                           : " (" + seeds_text(in.alone_seeds) + ")";
  const std::string teacher = in.teacher.empty() ? "the teacher" : "the teacher " + in.teacher;
  if (in.teacher_gap) {
    if (*in.teacher_gap > 0)
      o += "; " + teacher + "'s is " + pct(*in.teacher_gap) + " lower, so there is something to distil.";
    else
      o += "; " + teacher + " is not better (" + pct(-*in.teacher_gap) + " higher), so there is nothing to distil.";
  } else {
    o += ".";
  }
  if (in.methods.empty()) return o + " No KD method was run.";

  const MethodEffect* best = &in.methods.front();
  int gains = 0;
  for (const auto& m : in.methods) {
    if (m.change_mean < best->change_mean) best = &m;
    gains += clear_gain(m);
  }
  if (best->seeds < 2) {
    o += " With one seed there is no interval: the best KD method, " + best->method +
         ", changes the student's test MSE by " + signed_pct(best->change_mean) +
         ", which this study cannot tell apart from seed noise.";
  } else if (clear_gain(*best)) {
    o += " " + best->method + " lowers the student's test MSE by " + pct(-best->change_mean) + ": " +
         change_text(*best) + gap_text(*best);
    o += gains > 1 ? "; " + std::to_string(gains) + " of " + std::to_string(in.methods.size()) +
                         " KD methods have a 95% interval below zero."
                   : "; no other KD method's interval is below zero.";
  } else if (best->change_mean >= 0) {
    o += " No KD method lowers the student's mean test MSE (the best, " + best->method + ", changes it by " +
         change_text(*best) + ").";
  } else {
    o += " No gain is beyond noise: the best KD method, " + best->method + ", changes the student's test MSE by " +
         change_text(*best) + ", an interval that includes zero.";
  }
  return o + " (Paired change: each seed's MSE with KD over the same seed's alone, minus 1.)";
}

}  // namespace sdkd::report
