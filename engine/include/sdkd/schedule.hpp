#pragma once
// Learning-rate schedules as pure functions of the optimizer step, so a resumed run gets the
// same rate at the same step without saving scheduler state.
#include <cstdint>
#include <string>

namespace sdkd::optim {

struct LrSchedule {
  enum class Kind { constant, cosine, onecycle };
  Kind kind = Kind::constant;
  double base_lr = 1e-3;       // constant and cosine start here; onecycle peaks here
  int64_t total_steps = 1;     // length of the run in optimizer steps
  int64_t warmup_steps = 0;    // cosine: linear warm-up from 0
  double min_lr = 0.0;         // cosine: floor at the end
  double pct_start = 0.3;      // onecycle: fraction of steps spent rising (PyTorch's default)
  double div_factor = 25.0;    // onecycle: start at base_lr / div_factor
  double final_div_factor = 1e4;  // onecycle: end at base_lr / (div_factor * final_div_factor)

  // Rate for the step about to be taken (0-based).
  double lr_at(int64_t step) const;
  // "constant", "cosine" or "onecycle"; throws naming the valid names otherwise.
  static Kind parse_kind(const std::string& name);
  static const char* kind_name(Kind k);
};

}  // namespace sdkd::optim
