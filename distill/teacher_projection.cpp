#include "sdkd/distill/teacher_projection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::distill {

void symmetric_eigen(const std::vector<double>& a_in, int64_t n, std::vector<double>& values,
                     std::vector<double>& vectors) {
  SDKD_CHECK(n >= 1 && int64_t(a_in.size()) == n * n, "symmetric_eigen: expected ", n, " x ", n, " entries, got ",
             a_in.size());
  std::vector<double> a = a_in, v(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0;
  auto A = [&](int64_t i, int64_t j) -> double& { return a[size_t(i * n + j)]; };
  double total = 0;
  for (double x : a) total += x * x;
  // Sweeps until the off-diagonal part is at round-off of the whole (converges quadratically;
  // 64 x 64 second-moment matrices take under ten sweeps).
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += A(i, j) * A(i, j);
    if (off <= 1e-30 * total || off == 0) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        if (A(p, q) == 0) continue;
        // The rotation that zeroes A(p, q) (Golub & Van Loan, the symmetric Schur step).
        const double theta = (A(q, q) - A(p, p)) / (2 * A(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {  // eigenvector rows p, q
          const double vp = v[size_t(p * n + k)], vq = v[size_t(q * n + k)];
          v[size_t(p * n + k)] = c * vp - s * vq;
          v[size_t(q * n + k)] = s * vp + c * vq;
        }
      }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return A(x, x) > A(y, y); });
  values.assign(size_t(n), 0);
  vectors.assign(size_t(n * n), 0);
  for (int64_t r = 0; r < n; ++r) {
    values[size_t(r)] = A(order[size_t(r)], order[size_t(r)]);
    for (int64_t k = 0; k < n; ++k) vectors[size_t(r * n + k)] = v[size_t(order[size_t(r)] * n + k)];
  }
}

TeacherProjection fit_teacher_projection(const Tensor& features, int64_t k) {
  SDKD_CHECK(features.dim() == 4, "teacher projection: expected teacher features (B, C, H, W), got ",
             shape_str(features.shape()));
  const int64_t C = features.size(1);
  SDKD_CHECK(k >= 1 && k <= C, "teacher projection: the student's tap has ", k, " channels but the teacher's has ", C,
             "; a teacher-side projection needs at most as many student channels (use kd.adapter \"student\")");
  // Channel vectors as rows: (B H W, C), in double so the second moments sum exactly enough.
  const Tensor rows =
      features.to(Device{}).to(DType::f64).permute({0, 2, 3, 1}).contiguous().reshape({-1, C});
  const Tensor m = matmul(rows.permute({1, 0}).contiguous(), rows).contiguous();
  const double* mp = m.data<double>();
  std::vector<double> a(mp, mp + C * C), values, vectors;
  symmetric_eigen(a, C, values, vectors);
  double trace = 0, kept = 0;
  for (int64_t i = 0; i < C; ++i) trace += values[size_t(i)];
  for (int64_t i = 0; i < k; ++i) kept += std::max(values[size_t(i)], 0.0);
  TeacherProjection p;
  p.energy_kept = trace > 0 ? std::min(1.0, kept / trace) : 0.0;
  p.weight = Tensor::zeros({k, C, 1, 1}, DType::f32, Device{});
  float* w = p.weight.data<float>();
  for (int64_t r = 0; r < k; ++r) {
    const double* row = &vectors[size_t(r * C)];
    int64_t big = 0;
    for (int64_t j = 1; j < C; ++j)
      if (std::fabs(row[j]) > std::fabs(row[big])) big = j;
    const double sign = row[big] < 0 ? -1.0 : 1.0;
    for (int64_t j = 0; j < C; ++j) w[r * C + j] = float(sign * row[j]);
  }
  return p;
}

}  // namespace sdkd::distill
