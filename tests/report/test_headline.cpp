// The headline of report.md from constructed summaries: each case's wording and numbers, the
// numbers formatted here from the inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "report/headline.hpp"

using namespace sdkd::report;
using Catch::Matchers::Contains;

namespace {

std::string pct(const char* format, double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, format, 100 * fraction);
  return b;
}

// A method's effect with the interval mean -+ t sd / sqrt(n) (t_{0.975, n-1} from the table:
// 2.776 for 5 seeds, 4.303 for 3).
MethodEffect effect(const char* name, double mean, double sd, int64_t n) {
  const double t = n == 5 ? 2.776445105 : n == 3 ? 4.302652730 : NAN;
  MethodEffect m{name, mean, sd, n};
  if (n >= 2) m.change_lo = mean - t * sd / std::sqrt(double(n)), m.change_hi = mean + t * sd / std::sqrt(double(n));
  return m;
}

HeadlineInput demo_like() {
  HeadlineInput in;
  in.student = "unet";
  in.alone_mse = 0.2743;
  in.alone_sd = 0.0072;
  in.alone_seeds = 3;
  in.teacher = "simvp";
  in.teacher_gap = 1 - 0.1318 / 0.2743;
  in.methods = {effect("sdkd", 0.006, 0.056, 3), effect("output", -0.022, 0.026, 3), effect("feature", -0.003, 0.010, 3)};
  return in;
}

std::string ci(const MethodEffect& m) {
  char b[96];
  std::snprintf(b, sizeof b, "(95%% CI [%+.1f, %+.1f], paired t over %lld seeds)", 100 * m.change_lo, 100 * m.change_hi,
                static_cast<long long>(m.seeds));
  return b;
}

}  // namespace

TEST_CASE("headline: a claimed gain needs two seeds and a 95 % interval below zero", "[headline]") {
  CHECK(clear_gain(effect("a", -0.05, 0.01, 3)));
  CHECK_FALSE(clear_gain(effect("a", -0.05, 0.05, 3)));  // the interval reaches past zero
  CHECK_FALSE(clear_gain(effect("a", -0.05, 0.01, 1)));  // one seed has no interval
  CHECK_FALSE(clear_gain(effect("a", 0.05, 0.01, 3)));   // a clear rise is not a gain
  CHECK(clear_loss(effect("a", 0.05, 0.01, 3)));
  CHECK_FALSE(clear_loss(effect("a", 0.05, 0.05, 3)));
}

TEST_CASE("headline: no gain beyond noise (the demo's numbers)", "[headline]") {
  const HeadlineInput in = demo_like();
  const std::string h = headline(in);
  CHECK(h.rfind("**Headline.** ", 0) == 0);
  CHECK(h.find('\n') == std::string::npos);  // one paragraph
  CHECK_THAT(h, Contains("unet student alone has a test MSE of 0.2743 ± 0.0072 (sd over 3 seeds)"));
  CHECK_THAT(h, Contains("the teacher simvp's is " + pct("%.1f%%", *in.teacher_gap) + " lower"));
  // output has the lowest mean change (-2.2 %), but its interval includes zero.
  CHECK_THAT(h, Contains("No gain is beyond noise: the best KD method, output, changes the student's test MSE by " +
                         pct("%+.1f%%", -0.022) + " " + ci(in.methods[1]) + ", an interval that includes zero."));
  CHECK(h.find("sdkd") == std::string::npos);
}

TEST_CASE("headline: a method with its interval below zero is named with the gap it closes", "[headline]") {
  HeadlineInput in = demo_like();
  in.methods[0] = effect("sdkd", -0.051, 0.012, 3);
  in.methods[0].gap_mean = 0.41, in.methods[0].gap_lo = 0.12, in.methods[0].gap_hi = 0.70;
  std::string h = headline(in);
  CHECK_THAT(h, Contains("sdkd lowers the student's test MSE by " + pct("%.1f%%", 0.051) + ": " +
                         pct("%+.1f%%", -0.051) + " " + ci(in.methods[0]) +
                         ", closing 41.0% [12, 70] of the gap to the teacher; no other KD method's interval is below "
                         "zero."));
  CHECK(h.find("No gain") == std::string::npos);
  in.methods[2] = effect("feature", -0.03, 0.01, 3);
  h = headline(in);
  CHECK_THAT(h, Contains("sdkd lowers") && Contains("2 of 3 KD methods have a 95% interval below zero."));
}

TEST_CASE("headline: no method lowers the MSE, one seed, no KD, no teacher", "[headline]") {
  HeadlineInput in = demo_like();
  in.methods = {effect("sdkd", 0.01, 0.02, 3), effect("ab", 0.004, 0.05, 3)};
  CHECK_THAT(headline(in), Contains("No KD method lowers the student's mean test MSE (the best, ab, changes it by " +
                                    pct("%+.1f%%", 0.004) + " " + ci(in.methods[1]) + ")."));

  in.methods = {effect("sdkd", -0.03, 0.0, 1)};
  in.alone_seeds = 1;
  const std::string one = headline(in);
  CHECK_THAT(one, Contains("(1 seed)") && Contains("With one seed there is no interval") &&
                      Contains("sdkd, changes the student's test MSE by " + pct("%+.1f%%", -0.03)));

  in.methods.clear();
  CHECK_THAT(headline(in), Contains("No KD method was run."));

  in.teacher_gap = -0.1;  // a teacher worse than the student
  CHECK_THAT(headline(in), Contains("the teacher simvp is not better (10.0% higher), so there is nothing to distil."));
  in.teacher_gap.reset();
  CHECK(headline(in).find("teacher") == std::string::npos);
}
