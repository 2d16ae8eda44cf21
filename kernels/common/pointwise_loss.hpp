#pragma once
// The pointwise losses, written once for both backends: the CPU loop in the engine
// (engine/src/ops_reduce.cpp) and the CUDA kernels (kernels/cuda/reduce.cu) call these same
// functions, so the two compute the same double expressions element by element.
//
// A loss is mean_i term(p_i, t_i) over n elements; slope is d term / d p. In double:
//   mse: e = p - t, term e^2, slope 2e
//   l1:  term |e|, slope sign(e) (0 at e = 0)
//   ab:  the activation-boundary hinge (Heo et al., AAAI 2019, squared): the teacher fires
//        where t > 0; h = max(0, mu - p) where it fires, max(0, mu + p) where it does not;
//        term h^2, slope -2h or +2h. The target is a fixed label here (its derivative is 0
//        almost everywhere), so only p gets a gradient.
#include "kernels/internal.hpp"
#include "sdkd/host_device.hpp"

namespace sdkd::kern {

enum class PointLoss { mse, l1, ab };

struct PointLossParams {
  PointLoss kind = PointLoss::mse;
  double margin = 1.0;  // ab only
};

// max(0, v) with NaN mapped to 0, as std::max(0.0, v) does.
SDKD_HD inline double positive_part(double v) { return v > 0.0 ? v : 0.0; }

template <PointLoss K>
SDKD_HD inline double point_loss_term(double p, double t, double margin) {
  if constexpr (K == PointLoss::mse) {
    const double e = p - t;
    return e * e;
  } else if constexpr (K == PointLoss::l1) {
    const double e = p - t;
    return e < 0 ? -e : e;
  } else {
    const double h = positive_part(t > 0.0 ? margin - p : margin + p);
    return h * h;
  }
}

template <PointLoss K>
SDKD_HD inline double point_loss_slope(double p, double t, double margin) {
  if constexpr (K == PointLoss::mse) {
    return 2 * (p - t);
  } else if constexpr (K == PointLoss::l1) {
    const double e = p - t;
    return e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0;
  } else {
    const bool fires = t > 0.0;
    const double h = positive_part(fires ? margin - p : margin + p);
    return (fires ? -2.0 : 2.0) * h;
  }
}

// Whether the loss differentiates the target too (d term / d t = -slope for mse and l1).
constexpr bool point_loss_has_target_grad(PointLoss k) { return k != PointLoss::ab; }

// Calls f.template operator()<K>() for the runtime kind: one instantiation per loss.
template <class F>
inline auto visit_point_loss(PointLoss k, F&& f) {
  switch (k) {
    case PointLoss::l1: return f.template operator()<PointLoss::l1>();
    case PointLoss::ab: return f.template operator()<PointLoss::ab>();
    case PointLoss::mse: break;
  }
  return f.template operator()<PointLoss::mse>();
}

}  // namespace sdkd::kern
