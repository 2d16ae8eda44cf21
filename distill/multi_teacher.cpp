#include "sdkd/distill/multi_teacher.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sdkd/error.hpp"

namespace sdkd::distill {

std::vector<double> aver_weights(int M) {
  SDKD_CHECK(M >= 1, "aver_weights: need at least one teacher, got ", M);
  return std::vector<double>(size_t(M), 1.0 / double(M));
}

std::vector<std::vector<double>> gram_matrix(const std::vector<Tensor>& grads) {
  SDKD_CHECK(!grads.empty(), "gram_matrix: no gradients given");
  std::vector<std::vector<double>> flat;
  for (size_t m = 0; m < grads.size(); ++m) {
    SDKD_CHECK(grads[m].defined(), "gram_matrix: gradient ", m, " is undefined");
    SDKD_CHECK(grads[m].numel() == grads[0].numel(), "gram_matrix: gradient ", m, " has ", grads[m].numel(),
               " elements but gradient 0 has ", grads[0].numel());
    flat.push_back(grads[m].to_double_vector());
  }
  const size_t M = flat.size();
  std::vector<std::vector<double>> G(M, std::vector<double>(M, 0.0));
  for (size_t m = 0; m < M; ++m)
    for (size_t n = m; n < M; ++n) {
      double acc = 0;
      for (size_t i = 0; i < flat[m].size(); ++i) acc += flat[m][i] * flat[n][i];
      G[m][n] = G[n][m] = acc;
    }
  return G;
}

double aekd_objective(const std::vector<std::vector<double>>& gram, const std::vector<double>& alpha) {
  double q = 0;
  for (size_t m = 0; m < alpha.size(); ++m)
    for (size_t n = 0; n < alpha.size(); ++n) q += alpha[m] * gram[m][n] * alpha[n];
  return 0.5 * q;
}

namespace {

// Solves A x = b in place (Gaussian elimination, partial pivoting); false when a pivot falls
// below `tiny` (the entries of A are O(1): the Gram matrix is normalised by its diagonal).
bool solve_dense(std::vector<std::vector<double>>& A, std::vector<double>& b, double tiny) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[p][c])) p = r;
    if (std::fabs(A[p][c]) < tiny) return false;
    std::swap(A[p], A[c]);
    std::swap(b[p], b[c]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = A[r][c] / A[c][c];
      for (size_t k = c; k < n; ++k) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  for (size_t c = n; c-- > 0;) {
    double s = b[c];
    for (size_t k = c + 1; k < n; ++k) s -= A[c][k] * b[k];
    b[c] = s / A[c][c];
  }
  return true;
}

void check_gram(const std::vector<std::vector<double>>& G, double C) {
  const size_t M = G.size();
  SDKD_CHECK(M >= 1 && M <= 10, "aekd_weights: expected 1 to 10 teachers, got ", M);
  SDKD_CHECK(std::isfinite(C) && C > 0, "aekd_weights: the cap C = ", C, " must be finite and > 0");
  SDKD_CHECK(double(M) * C >= 1.0 - 1e-12, "aekd_weights: infeasible, ", M, " teachers with cap C = ", C,
             " cannot have weights summing to 1 (M * C = ", double(M) * C, " < 1); use C >= ", 1.0 / double(M));
  double scale = 0;
  for (size_t m = 0; m < M; ++m) {
    SDKD_CHECK(G[m].size() == M, "aekd_weights: Gram matrix row ", m, " has ", G[m].size(), " entries, expected ", M);
    for (size_t n = 0; n < M; ++n) {
      SDKD_CHECK(std::isfinite(G[m][n]), "aekd_weights: Gram matrix entry (", m, ", ", n, ") is ", G[m][n]);
      scale = std::max(scale, std::fabs(G[m][n]));
    }
  }
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < m; ++n)
      SDKD_CHECK(std::fabs(G[m][n] - G[n][m]) <= 1e-9 * scale, "aekd_weights: Gram matrix is not symmetric at (", m,
                 ", ", n, "): ", G[m][n], " vs ", G[n][m]);
}

}  // namespace

std::vector<double> aekd_weights(const std::vector<std::vector<double>>& gram, double C) {
  check_gram(gram, C);
  const size_t M = gram.size();
  double scale = 0;
  for (size_t m = 0; m < M; ++m) scale = std::max(scale, gram[m][m]);
  // All gradients zero: every feasible point is optimal; the equal weights are feasible.
  if (!(scale > 0)) return aver_weights(int(M));
  std::vector<std::vector<double>> G(gram);
  for (auto& row : G)
    for (double& v : row) v /= scale;

  constexpr double kFeasTol = 1e-10;
  std::vector<double> best;
  double best_obj = std::numeric_limits<double>::infinity();
  size_t codes = 1;
  for (size_t m = 0; m < M; ++m) codes *= 3;
  std::vector<int> state(M);
  std::vector<size_t> freeset;
  for (size_t code = 0; code < codes; ++code) {
    // state: 0 free, 1 at 0, 2 at C.
    size_t c = code, at_cap = 0;
    freeset.clear();
    for (size_t m = 0; m < M; ++m) {
      state[m] = int(c % 3);
      c /= 3;
      if (state[m] == 0) freeset.push_back(m);
      if (state[m] == 2) ++at_cap;
    }
    std::vector<double> alpha(M, 0.0);
    for (size_t m = 0; m < M; ++m)
      if (state[m] == 2) alpha[m] = C;
    const size_t f = freeset.size();
    if (f == 0) {
      if (std::fabs(double(at_cap) * C - 1.0) > kFeasTol) continue;
    } else {
      std::vector<std::vector<double>> A(f + 1, std::vector<double>(f + 1, 0.0));
      std::vector<double> b(f + 1, 0.0);
      for (size_t i = 0; i < f; ++i) {
        for (size_t j = 0; j < f; ++j) A[i][j] = G[freeset[i]][freeset[j]];
        A[i][f] = A[f][i] = 1.0;
        for (size_t u = 0; u < M; ++u)
          if (state[u] == 2) b[i] -= G[freeset[i]][u] * C;
      }
      b[f] = 1.0 - double(at_cap) * C;
      if (!solve_dense(A, b, 1e-12)) continue;
      bool feasible = true;
      for (size_t i = 0; i < f && feasible; ++i) feasible = b[i] >= -kFeasTol && b[i] <= C + kFeasTol;
      if (!feasible) continue;
      for (size_t i = 0; i < f; ++i) alpha[freeset[i]] = std::min(C, std::max(0.0, b[i]));
    }
    const double obj = aekd_objective(G, alpha);
    if (obj < best_obj) {
      best_obj = obj;
      best = alpha;
    }
  }
  // Unreachable for M * C >= 1 (the assignments with one free weight cover every vertex).
  SDKD_CHECK(!best.empty(), "aekd_weights: no feasible weights found for C = ", C);
  return best;
}

}  // namespace sdkd::distill
