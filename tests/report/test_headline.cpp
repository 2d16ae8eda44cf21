// The headline of report.md from constructed summaries: each case's wording and numbers, the
// numbers formatted here from the inputs.
#include <catch2/catch.hpp>

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

HeadlineInput demo_like() {
  HeadlineInput in;
  in.student = "unet";
  in.alone_mse = 0.2743;
  in.alone_sd = 0.0072;
  in.alone_seeds = 3;
  in.teacher = "simvp";
  in.teacher_gap = 1 - 0.1318 / 0.2743;
  in.methods = {{"sdkd", 0.006, 0.056, 3}, {"output", -0.022, 0.026, 3}, {"feature", -0.003, 0.010, 3}};
  return in;
}

}  // namespace

TEST_CASE("headline: beating seed noise needs two seeds and a drop larger than the spread", "[headline]") {
  CHECK(beats_seed_noise({"a", -0.05, 0.01, 3}));
  CHECK_FALSE(beats_seed_noise({"a", -0.05, 0.05, 3}));  // equal to the spread: not beyond it
  CHECK_FALSE(beats_seed_noise({"a", -0.05, 0.01, 1}));  // one seed has no spread
  CHECK_FALSE(beats_seed_noise({"a", 0.05, 0.01, 3}));   // a clear rise is not a gain
}

TEST_CASE("headline: nothing beats seed noise (the demo's numbers)", "[headline]") {
  const HeadlineInput in = demo_like();
  const std::string h = headline(in);
  CHECK(h.rfind("**Headline.** ", 0) == 0);
  CHECK(h.find('\n') == std::string::npos);  // one paragraph
  CHECK_THAT(h, Contains("unet student alone has a test MSE of 0.2743 ± 0.0072 (sd over 3 seeds)"));
  CHECK_THAT(h, Contains("the teacher simvp's is " + pct("%.1f%%", *in.teacher_gap) + " lower"));
  // output has the lowest mean change (-2.2 %) but its sd (2.6 %) is larger.
  CHECK_THAT(h, Contains("Nothing beats seed noise: the best KD method, output, changes the student's test MSE by " +
                         pct("%+.1f%%", -0.022) + " (paired over 3 seeds), less than the seed spread of that change (sd " +
                         pct("%.1f%%", 0.026) + ")"));
  CHECK(h.find("sdkd") == std::string::npos);
}

TEST_CASE("headline: a method that beats seed noise is named with its paired change", "[headline]") {
  HeadlineInput in = demo_like();
  in.methods[0] = {"sdkd", -0.051, 0.012, 3};
  std::string h = headline(in);
  CHECK_THAT(h, Contains("sdkd lowers the student's test MSE by " + pct("%.1f%%", 0.051) + " (paired over 3 seeds, sd " +
                         pct("%.1f%%", 0.012) + "), more than its seed spread; no other KD method beats seed noise."));
  CHECK(h.find("Nothing beats") == std::string::npos);
  in.methods[2] = {"feature", -0.03, 0.01, 3};
  h = headline(in);
  CHECK_THAT(h, Contains("sdkd lowers") && Contains("2 of 3 KD methods beat seed noise."));
}

TEST_CASE("headline: no method lowers the MSE, one seed, no KD, no teacher", "[headline]") {
  HeadlineInput in = demo_like();
  in.methods = {{"sdkd", 0.01, 0.02, 3}, {"ab", 0.004, 0.05, 3}};
  CHECK_THAT(headline(in), Contains("Nothing beats seed noise: no KD method lowers the student's mean test MSE (the best, "
                                    "ab, changes it by " + pct("%+.1f%%", 0.004)));

  in.methods = {{"sdkd", -0.03, 0.0, 1}};
  in.alone_seeds = 1;
  const std::string one = headline(in);
  CHECK_THAT(one, Contains("(1 seed)") && Contains("With one seed there is no seed spread to compare with") &&
                      Contains("sdkd, changes the student's test MSE by " + pct("%+.1f%%", -0.03)));

  in.methods.clear();
  CHECK_THAT(headline(in), Contains("No KD method was run."));

  in.teacher_gap = -0.1;  // a teacher worse than the student
  CHECK_THAT(headline(in), Contains("the teacher simvp is not better (10.0% higher), so there is nothing to distil."));
  in.teacher_gap.reset();
  CHECK(headline(in).find("teacher") == std::string::npos);
}
