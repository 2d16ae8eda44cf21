#include "sdkd/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "sdkd/error.hpp"

namespace sdkd::optim {

namespace {
constexpr double kPi = 3.141592653589793;
// Cosine interpolation from a (at t = 0) to b (at t = 1).
double cos_interp(double a, double b, double t) { return b + (a - b) * 0.5 * (1 + std::cos(kPi * t)); }
}  // namespace

double LrSchedule::lr_at(int64_t step) const {
  const double n = double(std::max<int64_t>(total_steps, 1));
  switch (kind) {
    case Kind::constant:
      return base_lr;
    case Kind::cosine: {
      if (step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
      const double span = std::max(n - double(warmup_steps), 1.0);
      const double t = std::clamp((double(step) - double(warmup_steps)) / span, 0.0, 1.0);
      return cos_interp(base_lr, min_lr, t);
    }
    case Kind::onecycle: {
      // PyTorch's OneCycleLR (cosine annealing, two phases): rise to the peak at
      // pct_start * total - 1, then fall to the final rate at total - 1.
      const double start = base_lr / div_factor, end = start / final_div_factor;
      const double peak_step = pct_start * n - 1;
      const double s = double(step);
      if (s <= peak_step) return cos_interp(start, base_lr, peak_step > 0 ? s / peak_step : 1.0);
      const double tail = std::max(n - 1 - peak_step, 1.0);
      return cos_interp(base_lr, end, std::min((s - peak_step) / tail, 1.0));
    }
  }
  return base_lr;
}

LrSchedule::Kind LrSchedule::parse_kind(const std::string& name) {
  if (name == "constant") return Kind::constant;
  if (name == "cosine") return Kind::cosine;
  if (name == "onecycle" || name == "one-cycle") return Kind::onecycle;
  throw Error(str_cat("unknown learning-rate schedule '", name, "' (expected constant, cosine or onecycle)"));
}

const char* LrSchedule::kind_name(Kind k) {
  switch (k) {
    case Kind::constant: return "constant";
    case Kind::cosine: return "cosine";
    case Kind::onecycle: return "onecycle";
  }
  return "constant";
}

}  // namespace sdkd::optim
