#include "report/headline.hpp"

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

bool beats_seed_noise(const MethodEffect& m) { return m.seeds >= 2 && m.change_mean < 0 && -m.change_mean > m.change_sd; }

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
  int beating = 0;
  for (const auto& m : in.methods) {
    if (m.change_mean < best->change_mean) best = &m;
    beating += beats_seed_noise(m);
  }
  const std::string paired = "paired over " + seeds_text(best->seeds);
  if (best->seeds < 2) {
    o += " With one seed there is no seed spread to compare with: the best KD method, " + best->method +
         ", changes the student's test MSE by " + signed_pct(best->change_mean) +
         ", which this study cannot tell apart from seed noise.";
  } else if (beats_seed_noise(*best)) {
    o += " " + best->method + " lowers the student's test MSE by " + pct(-best->change_mean) + " (" + paired +
         ", sd " + pct(best->change_sd) + "), more than its seed spread";
    o += beating > 1 ? "; " + std::to_string(beating) + " of " + std::to_string(in.methods.size()) +
                           " KD methods beat seed noise."
                     : "; no other KD method beats seed noise.";
  } else if (best->change_mean >= 0) {
    o += " Nothing beats seed noise: no KD method lowers the student's mean test MSE (the best, " + best->method +
         ", changes it by " + signed_pct(best->change_mean) + ", " + paired + ", sd " + pct(best->change_sd) + ").";
  } else {
    o += " Nothing beats seed noise: the best KD method, " + best->method + ", changes the student's test MSE by " +
         signed_pct(best->change_mean) + " (" + paired + "), less than the seed spread of that change (sd " +
         pct(best->change_sd) + ").";
  }
  return o + " (Paired change: each seed's MSE with KD over the same seed's alone, minus 1.)";
}

}  // namespace sdkd::report
