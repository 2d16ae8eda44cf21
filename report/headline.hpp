#pragma once
// The one paragraph report.md opens with: what the table shows, computed from the study's
// summary (the teacher's margin, the best KD method's paired change against the student
// alone, and whether that change is larger than its spread over seeds).
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdkd::report {

// A KD method's effect over the seeds: the mean and sample standard deviation of the paired
// relative change of the student's test MSE, MSE_kd,s / MSE_alone,s - 1 (-0.02 is 2 % lower),
// its 95 % Student-t interval (NaN with one seed), and the part of the student -> teacher gap
// it closes, (MSE_alone,s - MSE_kd,s) / (MSE_alone,s - MSE_teacher), with its interval (NaN
// where the teacher is not the better model). seeds = how many pairs.
struct MethodEffect {
  std::string method;
  double change_mean = 0, change_sd = 0;
  int64_t seeds = 0;
  double change_lo = NAN, change_hi = NAN;
  double gap_mean = NAN, gap_lo = NAN, gap_hi = NAN;
};

struct HeadlineInput {
  std::string student;  // the student's model name, e.g. "unet"
  double alone_mse = 0, alone_sd = 0;
  int64_t alone_seeds = 0;
  std::string teacher;               // the best teacher's model name
  std::optional<double> teacher_gap;  // 1 - teacher MSE / mean student-alone MSE
  std::vector<MethodEffect> methods;  // the KD methods, not the student alone
};

// A claimed gain: at least two paired seeds and a 95 % interval of the change entirely below
// zero. clear_loss: the interval entirely above zero.
bool clear_gain(const MethodEffect& m);
bool clear_loss(const MethodEffect& m);

// "**Headline.** ..." (Markdown, one paragraph, no line break). The best method is the one with
// the lowest mean change (the first listed on a tie). Says plainly when no interval excludes
// zero, when a single seed leaves no interval, and when no KD method was run.
std::string headline(const HeadlineInput& in);

}  // namespace sdkd::report
