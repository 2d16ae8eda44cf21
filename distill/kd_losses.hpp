#pragma once
// Baseline distillation losses for the ablation table (SPEC §3). In all of them the teacher is
// a frozen target: it is detached and gets no gradient.
#include "sdkd/tensor.hpp"

namespace sdkd::distill {

// Output KD: mean squared error between the student's and the (detached) teacher's prediction.
Tensor output_kd_loss(const Tensor& student_pred, const Tensor& teacher_pred);

// FitNets-style hint loss: mean squared error between the student's (adapted) feature map and
// the teacher's, in the spatial domain.
Tensor feature_mse_loss(const Tensor& student_feat, const Tensor& teacher_feat);

// The Activation-Boundary loss and the band-split spectral loss are engine ops with CUDA
// kernels: sdkd::ab_loss (sdkd/ops.hpp) and sdkd::spectral_kd_loss (sdkd/spectral_loss.hpp).

}  // namespace sdkd::distill
