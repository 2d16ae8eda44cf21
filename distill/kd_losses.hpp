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

// Activation-Boundary loss (Heo et al., "Knowledge Transfer via Distillation of Activation
// Boundaries Formed by Hidden Neurons", AAAI 2019, eq. 4 with the squared hinge):
//   L = || rho(T) (.) relu(mu 1 - S) + (1 - rho(T)) (.) relu(mu 1 + S) ||_2^2,
// rho(T) = 1[T > 0] the teacher neuron's activation indicator, S the student's (adapted)
// pre-activation, mu the margin. The student is pushed above +mu where the teacher fires and
// below -mu where it does not, so it learns the teacher's activation boundaries rather than
// its magnitudes. Normalisation (ours): divided by numel (the paper sums), so the scale is
// comparable to an MSE. Both maps are pre-activations of the same shape.
Tensor ab_loss(const Tensor& student_feat, const Tensor& teacher_feat, double margin = 1.0);

}  // namespace sdkd::distill
