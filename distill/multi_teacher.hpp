#pragma once
// Multi-teacher weighting (SPEC §3): how the per-teacher distillation losses are mixed.
// - AVER: equal weights 1/M.
// - AEKD (Du et al., "Agree to Disagree: Adaptive Ensemble Knowledge Distillation in Gradient
//   Space", NeurIPS 2020): per batch, with g_m the gradient of teacher m's loss w.r.t. the
//   student output (flattened), the weights minimise
//     1/2 || sum_m alpha_m g_m ||^2   subject to   sum_m alpha_m = 1,  0 <= alpha_m <= C,
//   i.e. the point of the capped simplex whose combined gradient is shortest, so teachers
//   that disagree are balanced instead of averaged. The problem only needs the Gram matrix
//   G = [<g_m, g_n>], and is solved exactly (no iterations) by enumerating active sets.
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd::distill {

// M equal weights 1/M (M >= 1).
std::vector<double> aver_weights(int M);

// G[m][n] = <g_m, g_n>, accumulated in double; the gradients must have the same numel.
std::vector<std::vector<double>> gram_matrix(const std::vector<Tensor>& grads);

// 1/2 alpha^T G alpha.
double aekd_objective(const std::vector<std::vector<double>>& gram, const std::vector<double>& alpha);

// The exact minimiser of the AEKD problem for a symmetric positive semi-definite Gram matrix
// of M <= 10 teachers. Every one of the 3^M assignments of each alpha_m to {free, 0, C} gives
// an equality-constrained problem on the free set whose KKT system
//   [G_FF 1; 1^T 0] [alpha_F; -lambda] = [-G_FU C 1; 1 - C |U|]
// is solved directly; feasible solutions are candidates and the one of least objective wins
// (ties: the first in enumeration order, deterministic). Singular KKT systems (parallel or
// zero gradients) are skipped: some optimum always has a free set on which the system is
// regular (a null direction of G can be followed to a bound without changing the objective),
// and assignments with at most one free weight are always regular. Throws sdkd::Error when
// M * C < 1 (no feasible weights) or the matrix is not square and symmetric.
std::vector<double> aekd_weights(const std::vector<std::vector<double>>& gram, double C = 0.6);

}  // namespace sdkd::distill
