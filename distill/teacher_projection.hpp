#pragma once
// The teacher-side adapter: a fixed projection of the teacher's C_t feature channels onto
// the student's C_s <= C_t, the C_s orthonormal directions that keep the most of the
// teacher's feature energy (the top eigenvectors of the uncentred second-moment matrix of its
// channel vectors, so the mean, the spectrum's k = 0 bin, is kept like any other energy).
// Fitted once on a batch of training windows; nothing of it is trained, so the student has to
// reproduce the teacher's main directions instead of an adapter learning to meet it halfway.
#include <cstdint>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd::distill {

struct TeacherProjection {
  Tensor weight;            // (k, C_t, 1, 1) float32 on the CPU: a 1x1 conv without bias
  double energy_kept = 0;   // the projected features' share of the features' energy, in [0, 1]
};

// features: (B, C_t, H, W), any device and float dtype; 1 <= k <= C_t. Each row's sign makes
// its largest-magnitude entry positive, so the same features give the same projection.
TeacherProjection fit_teacher_projection(const Tensor& features, int64_t k);

// The eigenvalues (descending) and eigenvectors (row i belongs to value i) of a symmetric
// n x n matrix (row-major), by cyclic Jacobi rotations in double.
void symmetric_eigen(const std::vector<double>& a, int64_t n, std::vector<double>& values,
                     std::vector<double>& vectors);

}  // namespace sdkd::distill
