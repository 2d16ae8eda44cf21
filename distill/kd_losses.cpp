#include "sdkd/distill/kd_losses.hpp"

#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::distill {

Tensor output_kd_loss(const Tensor& student_pred, const Tensor& teacher_pred) {
  SDKD_CHECK(student_pred.defined() && teacher_pred.defined(), "output_kd_loss: got an undefined tensor");
  return mse_loss(student_pred, teacher_pred.detach());
}

Tensor feature_mse_loss(const Tensor& student_feat, const Tensor& teacher_feat) {
  SDKD_CHECK(student_feat.defined() && teacher_feat.defined(), "feature_mse_loss: got an undefined tensor");
  return mse_loss(student_feat, teacher_feat.detach());
}

}  // namespace sdkd::distill
