// Normalisation kernels (CPU). Every op works on "segments": a contiguous run of values that
// share one statistic and one affine parameter, i.e. one (n, c) plane of HW values for
// BatchNorm / GroupNorm and one row for LayerNorm. Per-segment partials are computed in
// parallel and then combined serially in index order, so no result depends on the thread count.
#include "kernels/cpu/norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu {
namespace {

// Below this many elements a loop stays on one thread: forking costs more than it saves
// (and below what a parallel region costs under this wait policy, parallel_policy.hpp; a
// norm pass reads and writes about 12 bytes per element). Only the speed depends on it;
// the summation order is fixed either way.
constexpr int64_t kParallelMinWork = int64_t(1) << 15;
bool norm_parallel(int64_t elements) {
  return elements >= kParallelMinWork && threads_pay_bytes(12.0 * double(elements));
}

// Count, mean and sum of squared deviations. Two sets merge exactly (Chan, Golub & LeVeque),
// so partial statistics can be combined in a fixed order without losing accuracy.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
  void merge(const Moments& o) {
    if (o.count == 0) return;
    const double n = count + o.count;
    const double delta = o.mean - mean;
    mean += delta * (o.count / n);
    m2 += o.m2 + delta * delta * (count * o.count / n);
    count = n;
  }
};

// Chunks small enough to stay in L1: a two-pass mean / deviation sum per chunk reads memory
// only once, and the chunks merge exactly. This avoids the cancellation of E[x^2] - E[x]^2
// when |mean| >> std (e.g. float data around 1e4 with unit spread).
constexpr int64_t kChunk = 512;

template <class T>
Moments segment_moments(const T* p, int64_t len) {
  Moments acc;
  for (int64_t start = 0; start < len; start += kChunk) {
    const T* q = p + start;
    const int64_t n = std::min(kChunk, len - start);
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += double(q[i]);
    const double rough_mean = sum / double(n);
    // Corrected two-pass: the deviations' own sum removes the rounding left in rough_mean.
    double dev = 0, dev2 = 0;
#pragma omp simd reduction(+ : dev, dev2)
    for (int64_t i = 0; i < n; ++i) {
      const double d = double(q[i]) - rough_mean;
      dev += d;
      dev2 += d * d;
    }
    acc.merge({double(n), rough_mean + dev / double(n), dev2 - dev * dev / double(n)});
  }
  return acc;
}

// Subtracting the mean before scaling (rather than x * scale + precomputed shift) keeps float
// outputs accurate when |mean| >> std.
template <class T>
void normalise_segment(const T* x, T* y, int64_t len, double mean, double scale, double shift) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) y[i] = T((double(x[i]) - mean) * scale + shift);
}

// The two sums every normalisation backward needs: sum dy and sum dy * (x - mean).
struct GradSums {
  double dy = 0, dy_xc = 0;
  void add(const GradSums& o, double weight = 1.0) {
    dy += weight * o.dy;
    dy_xc += weight * o.dy_xc;
  }
};

template <class T>
GradSums segment_grad_sums(const T* dy, const T* x, int64_t len, double mean) {
  double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
  for (int64_t i = 0; i < len; ++i) {
    s += double(dy[i]);
    sx += double(dy[i]) * (double(x[i]) - mean);
  }
  return {s, sx};
}

// dx = k * dy + c1 * (x - mean) + c0: the backward of normalisation through its statistics,
// with the per-segment constants folded in by the caller.
template <class T>
void input_grad_segment(const T* dy, const T* x, T* dx, int64_t len, double mean, double k,
                        double c1, double c0) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) dx[i] = T(k * double(dy[i]) + c1 * (double(x[i]) - mean) + c0);
}

template <class T>
double value_or(const T* p, int64_t i, double fallback) {
  return p ? double(p[i]) : fallback;
}

// Parameter gradients are overwritten (kernels/common/norm_shape.hpp), rounded once from double.
template <class T>
void store(T* dst, int64_t i, double v) {
  dst[i] = T(v);
}

// Empty sums: the parameter gradients of a norm over no values are zero.
template <class T>
void zero_params(T* dgamma, T* dbeta, int64_t n) {
  if (dgamma) std::fill(dgamma, dgamma + n, T(0));
  if (dbeta) std::fill(dbeta, dbeta + n, T(0));
}

void check_sizes(const char* fn, int64_t a, const char* an, int64_t b, const char* bn, int64_t c,
                 const char* cn) {
  SDKD_CHECK(a >= 0 && b >= 0 && c >= 0, fn, ": sizes must be non-negative, got ", an, "=", a, " ",
             bn, "=", b, " ", cn, "=", c);
}

void check_eps(const char* fn, double eps) {
  SDKD_CHECK(eps >= 0.0 && std::isfinite(eps), fn, ": eps must be finite and >= 0, got ", eps);
}

}  // namespace

// ---------------------------------------------------------------- BatchNorm2d

template <class T>
void batch_norm_forward_train(const T* x, const T* gamma, const T* beta, T* y, int64_t N, int64_t C,
                              int64_t HW, double eps, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, double momentum) {
  const char* fn = "batch_norm_forward_train";
  check_sizes(fn, N, "N", C, "C", HW, "HW");
  check_eps(fn, eps);
  SDKD_CHECK(N * HW > 1, fn, ": expected more than one value per channel (N * HW > 1), got N=", N,
             " HW=", HW);
  SDKD_CHECK(x && y && save_mean && save_invstd, fn,
             ": x, y, save_mean and save_invstd must be non-null");
  SDKD_CHECK((running_mean == nullptr) == (running_var == nullptr), fn,
             ": running_mean and running_var must both be given or both be null");
  const int64_t segments = N * C;
  const bool parallel = norm_parallel(segments * HW);

  std::vector<Moments> part(static_cast<size_t>(segments));
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t s = 0; s < segments; ++s) part[s] = segment_moments(x + s * HW, HW);

  std::vector<double> mean(static_cast<size_t>(C)), invstd(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    Moments m;
    for (int64_t n = 0; n < N; ++n) m.merge(part[n * C + c]);
    mean[c] = m.mean;
    invstd[c] = 1.0 / std::sqrt(m.m2 / m.count + eps);
    save_mean[c] = mean[c];
    save_invstd[c] = invstd[c];
    if (running_mean) {
      const double unbiased_var = m.m2 / (m.count - 1.0);
      running_mean[c] = T((1.0 - momentum) * double(running_mean[c]) + momentum * m.mean);
      running_var[c] = T((1.0 - momentum) * double(running_var[c]) + momentum * unbiased_var);
    }
  }

#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t c = s % C;
    normalise_segment(x + s * HW, y + s * HW, HW, mean[c], value_or(gamma, c, 1.0) * invstd[c],
                      value_or(beta, c, 0.0));
  }
}

template <class T>
void batch_norm_forward_eval(const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, int64_t N, int64_t C, int64_t HW,
                             double eps) {
  const char* fn = "batch_norm_forward_eval";
  check_sizes(fn, N, "N", C, "C", HW, "HW");
  check_eps(fn, eps);
  SDKD_CHECK(x && y && running_mean && running_var, fn,
             ": x, y, running_mean and running_var must be non-null");
  std::vector<double> scale(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c)
    scale[c] = value_or(gamma, c, 1.0) / std::sqrt(double(running_var[c]) + eps);

  const int64_t segments = N * C;
#pragma omp parallel for schedule(static) if (norm_parallel(segments * HW))
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t c = s % C;
    normalise_segment(x + s * HW, y + s * HW, HW, double(running_mean[c]), scale[c],
                      value_or(beta, c, 0.0));
  }
}

template <class T>
void batch_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training) {
  const char* fn = "batch_norm_backward";
  check_sizes(fn, N, "N", C, "C", HW, "HW");
  SDKD_CHECK(dy && x && save_mean && save_invstd, fn,
             ": dy, x, save_mean and save_invstd must be non-null");
  if (!dx && !dgamma && !dbeta) return;
  const int64_t segments = N * C;
  const bool parallel = norm_parallel(segments * HW);

  std::vector<GradSums> part(static_cast<size_t>(segments));
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t s = 0; s < segments; ++s)
    part[s] = segment_grad_sums(dy + s * HW, x + s * HW, HW, double(save_mean[s % C]));

  std::vector<GradSums> total(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n) total[c].add(part[n * C + c]);
    if (dgamma) store(dgamma, c, total[c].dy_xc * double(save_invstd[c]));
    if (dbeta) store(dbeta, c, total[c].dy);
  }
  if (!dx) return;

  const double count = double(N * HW);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t c = s % C;
    const double invstd = double(save_invstd[c]);
    const double k = value_or(gamma, c, 1.0) * invstd;
    // Eval mode: the statistics are constants, so only the scale reaches dx.
    const double c1 = training ? -k * invstd * invstd * total[c].dy_xc / count : 0.0;
    const double c0 = training ? -k * total[c].dy / count : 0.0;
    input_grad_segment(dy + s * HW, x + s * HW, dx + s * HW, HW, double(save_mean[c]), k, c1, c0);
  }
}

// ---------------------------------------------------------------- GroupNorm

template <class T>
void group_norm_forward(const T* x, const T* gamma, const T* beta, T* y, int64_t N, int64_t C,
                        int64_t HW, int64_t G, double eps, double* save_mean, double* save_invstd) {
  const char* fn = "group_norm_forward";
  check_sizes(fn, N, "N", C, "C", HW, "HW");
  check_eps(fn, eps);
  SDKD_CHECK(G >= 1 && C % G == 0, fn, ": groups G must be >= 1 and divide C, got C=", C, " G=", G);
  if (N * C * HW == 0) return;
  SDKD_CHECK(x && y && save_mean && save_invstd, fn,
             ": x, y, save_mean and save_invstd must be non-null");
  const int64_t per_group = C / G, segments = N * C;
  const bool parallel = norm_parallel(segments * HW);

  // One (n, group) block at a time: its planes are read for the moments and, still in cache,
  // normalised (a pass over all statistics first would read x from memory twice). The
  // arithmetic and its order are those of a statistics pass followed by a normalising pass.
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t ng = 0; ng < N * G; ++ng) {
    const int64_t s0 = ng * per_group;
    Moments m;
    for (int64_t j = 0; j < per_group; ++j) m.merge(segment_moments(x + (s0 + j) * HW, HW));
    const double mean = m.mean, invstd = 1.0 / std::sqrt(m.m2 / m.count + eps);
    save_mean[ng] = mean;
    save_invstd[ng] = invstd;
    for (int64_t j = 0; j < per_group; ++j) {
      const int64_t s = s0 + j, c = s % C;
      normalise_segment(x + s * HW, y + s * HW, HW, mean, value_or(gamma, c, 1.0) * invstd, value_or(beta, c, 0.0));
    }
  }
}

template <class T>
void group_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, int64_t G) {
  const char* fn = "group_norm_backward";
  check_sizes(fn, N, "N", C, "C", HW, "HW");
  SDKD_CHECK(G >= 1 && C % G == 0, fn, ": groups G must be >= 1 and divide C, got C=", C, " G=", G);
  if (N * C * HW == 0) zero_params(dgamma, dbeta, C);
  if (N * C * HW == 0 || (!dx && !dgamma && !dbeta)) return;
  SDKD_CHECK(dy && x && save_mean && save_invstd, fn,
             ": dy, x, save_mean and save_invstd must be non-null");
  const int64_t per_group = C / G, segments = N * C;
  const bool parallel = norm_parallel(segments * HW);

  // Segment s = n * C + c belongs to group ng = s / per_group (channels of a group are adjacent).
  // Each (n, group) block gets its sums and, with its planes still in cache, its dx; the
  // parameter gradients add the per-segment sums afterwards. Same arithmetic and order as a
  // sums pass followed by a dx pass.
  std::vector<GradSums> part(static_cast<size_t>(segments));
  const double count = double(per_group * HW);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t ng = 0; ng < N * G; ++ng) {
    const int64_t s0 = ng * per_group;
    const double mean = double(save_mean[ng]), invstd = double(save_invstd[ng]);
    GradSums group;  // gradient w.r.t. the normalised value is gamma_c * dy: sums weighted by gamma
    for (int64_t s = s0; s < s0 + per_group; ++s) {
      part[s] = segment_grad_sums(dy + s * HW, x + s * HW, HW, mean);
      group.add(part[s], value_or(gamma, s % C, 1.0));
    }
    if (!dx) continue;
    const double c1 = -invstd * invstd * invstd * group.dy_xc / count;
    const double c0 = -invstd * group.dy / count;
    for (int64_t s = s0; s < s0 + per_group; ++s) {
      const double k = value_or(gamma, s % C, 1.0) * invstd;
      input_grad_segment(dy + s * HW, x + s * HW, dx + s * HW, HW, mean, k, c1, c0);
    }
  }

  if (dgamma || dbeta) {
    for (int64_t c = 0; c < C; ++c) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t s = n * C + c;
        sum_dy += part[s].dy;
        sum_dy_xhat += part[s].dy_xc * double(save_invstd[s / per_group]);
      }
      if (dgamma) store(dgamma, c, sum_dy_xhat);
      if (dbeta) store(dbeta, c, sum_dy);
    }
  }
}

// ---------------------------------------------------------------- LayerNorm

template <class T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, int64_t rows, int64_t D,
                        double eps, double* save_mean, double* save_invstd) {
  const char* fn = "layer_norm_forward";
  check_eps(fn, eps);
  SDKD_CHECK(rows >= 0 && D >= 1, fn, ": expected rows >= 0 and D >= 1, got rows=", rows, " D=", D);
  if (rows == 0) return;
  SDKD_CHECK(x && y && save_mean && save_invstd, fn,
             ": x, y, save_mean and save_invstd must be non-null");
  std::vector<double> g(static_cast<size_t>(D)), b(static_cast<size_t>(D));
  for (int64_t d = 0; d < D; ++d) {
    g[d] = value_or(gamma, d, 1.0);
    b[d] = value_or(beta, d, 0.0);
  }

#pragma omp parallel for schedule(static) if (norm_parallel(rows * D))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const Moments m = segment_moments(xr, D);
    const double invstd = 1.0 / std::sqrt(m.m2 / m.count + eps);
    save_mean[r] = m.mean;
    save_invstd[r] = invstd;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) yr[d] = T((double(xr[d]) - m.mean) * invstd * g[d] + b[d]);
  }
}

template <class T>
void layer_norm_backward(const T* dy, const T* x, const T* gamma, const double* save_mean,
                         const double* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t rows,
                         int64_t D) {
  const char* fn = "layer_norm_backward";
  SDKD_CHECK(rows >= 0 && D >= 1, fn, ": expected rows >= 0 and D >= 1, got rows=", rows, " D=", D);
  if (rows == 0) zero_params(dgamma, dbeta, D);
  if (rows == 0 || (!dx && !dgamma && !dbeta)) return;
  SDKD_CHECK(dy && x && save_mean && save_invstd, fn,
             ": dy, x, save_mean and save_invstd must be non-null");
  std::vector<double> g(static_cast<size_t>(D));
  for (int64_t d = 0; d < D; ++d) g[d] = value_or(gamma, d, 1.0);

  // dgamma / dbeta are column sums over rows. Rows go in blocks whose size depends only on
  // `rows` (never on the thread count); each block keeps its own partial sums, which are then
  // added in block order. One sweep over dy and x serves dx and the parameter partials.
  const bool want_params = dgamma || dbeta;
  const int64_t block = std::max<int64_t>(16, (rows + 255) / 256);
  const int64_t blocks = (rows + block - 1) / block;
  // The partials outlive no call but are large (blocks x D): a reused per-thread buffer avoids
  // page-faulting a fresh one in on every step.
  thread_local std::vector<double> partials;
  const size_t part_size = want_params ? size_t(blocks * D) : 0;
  if (partials.size() < 2 * part_size) partials.resize(2 * part_size);
  std::fill(partials.begin(), partials.begin() + ptrdiff_t(2 * part_size), 0.0);
  double* const part_g = partials.data();
  double* const part_b = partials.data() + part_size;
  const double count = double(D);

#pragma omp parallel for schedule(static) if (norm_parallel(rows * D))
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r_end = std::min(rows, (blk + 1) * block);
    for (int64_t r = blk * block; r < r_end; ++r) {
      const T* dyr = dy + r * D;
      const T* xr = x + r * D;
      const double mean = double(save_mean[r]), invstd = double(save_invstd[r]);
      if (dx) {
        double sum_gdy = 0, sum_gdy_xc = 0;
#pragma omp simd reduction(+ : sum_gdy, sum_gdy_xc)
        for (int64_t d = 0; d < D; ++d) {
          const double gdy = g[d] * double(dyr[d]);
          sum_gdy += gdy;
          sum_gdy_xc += gdy * (double(xr[d]) - mean);
        }
        const double c1 = -invstd * invstd * invstd * sum_gdy_xc / count;
        const double c0 = -invstd * sum_gdy / count;
        T* dxr = dx + r * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d)
          dxr[d] = T(invstd * g[d] * double(dyr[d]) + c1 * (double(xr[d]) - mean) + c0);
      }
      if (want_params) {
        double* pg = part_g + blk * D;
        double* pb = part_b + blk * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          pg[d] += double(dyr[d]) * (double(xr[d]) - mean) * invstd;
          pb[d] += double(dyr[d]);
        }
      }
    }
  }
  if (!want_params) return;

  // Block by block, each column's partials added in block order (contiguous rows, not a
  // strided walk down each column).
  std::vector<double> sum_g(size_t(D), 0.0), sum_b(size_t(D), 0.0);
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const double* pg = part_g + blk * D;
    const double* pb = part_b + blk * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) {
      sum_g[size_t(d)] += pg[d];
      sum_b[size_t(d)] += pb[d];
    }
  }
  for (int64_t d = 0; d < D; ++d) {
    if (dgamma) store(dgamma, d, sum_g[size_t(d)]);
    if (dbeta) store(dbeta, d, sum_b[size_t(d)]);
  }
}

// ---------------------------------------------------------------- the op's two entry points

template <class T>
void norm_forward(const kern::NormShape& s, const kern::NormForwardArgs<T>& a) {
  switch (s.kind) {
    case kern::NormKind::batch:
      if (s.training) {
        batch_norm_forward_train<T>(a.x, a.gamma, a.beta, a.y, s.N, s.C, s.HW, s.eps, a.mean, a.invstd,
                                    a.running_mean, a.running_var, s.momentum);
      } else {
        batch_norm_forward_eval<T>(a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y, s.N, s.C, s.HW, s.eps);
        // The eval backward's invstd, from the running variance as the forward used it.
        if (a.invstd)
          for (int64_t c = 0; c < s.C; ++c) a.invstd[c] = 1.0 / std::sqrt(double(a.running_var[c]) + s.eps);
      }
      break;
    case kern::NormKind::group:
      group_norm_forward<T>(a.x, a.gamma, a.beta, a.y, s.N, s.C, s.HW, s.G, s.eps, a.mean, a.invstd);
      break;
    case kern::NormKind::layer:
      layer_norm_forward<T>(a.x, a.gamma, a.beta, a.y, s.N, s.HW, s.eps, a.mean, a.invstd);
      break;
  }
}

template <class T>
void norm_backward(const kern::NormShape& s, const kern::NormBackwardArgs<T>& a) {
  switch (s.kind) {
    case kern::NormKind::batch:
      batch_norm_backward<T>(a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.C, s.HW,
                             s.training);
      break;
    case kern::NormKind::group:
      group_norm_backward<T>(a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.C, s.HW, s.G);
      break;
    case kern::NormKind::layer:
      layer_norm_backward<T>(a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.HW);
      break;
  }
}

// ---------------------------------------------------------------- per-channel affine

template <class T>
void channel_affine(T* y, const T* x, int64_t N, int64_t C, int64_t HW, const double* a, const double* m,
                    const double* b) {
  check_sizes("channel_affine", N, "N", C, "C", HW, "HW");
  SDKD_CHECK(y && a && b && (!x || m), "channel_affine: y, a, b (and m with x) must be non-null");
  const int64_t segments = N * C;
#pragma omp parallel for schedule(static) if (norm_parallel(segments * HW))
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t c = s % C;
    const double ac = a[c], bc = b[c], mc = x ? m[c] : 0.0;
    T* ys = y + s * HW;
    const T* xs = x ? x + s * HW : nullptr;
    if (xs) {
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) ys[i] = T(ac * double(ys[i]) + mc * double(xs[i]) + bc);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) ys[i] = T(ac * double(ys[i]) + bc);
    }
  }
}

// ---------------------------------------------------------------- instantiations

#define SDKD_NORM_INSTANTIATE(T)                                                                   \
  template void batch_norm_forward_train<T>(const T*, const T*, const T*, T*, int64_t, int64_t,    \
                                            int64_t, double, double*, double*, T*, T*, double);    \
  template void batch_norm_forward_eval<T>(const T*, const T*, const T*, const T*, const T*, T*,   \
                                           int64_t, int64_t, int64_t, double);                     \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const double*, const double*, \
                                       T*, T*, T*, int64_t, int64_t, int64_t, bool);               \
  template void group_norm_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, \
                                      int64_t, double, double*, double*);                          \
  template void group_norm_backward<T>(const T*, const T*, const T*, const double*, const double*, \
                                       T*, T*, T*, int64_t, int64_t, int64_t, int64_t);            \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, double,  \
                                      double*, double*);                                           \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const double*, const double*, \
                                       T*, T*, T*, int64_t, int64_t);                              \
  template void norm_forward<T>(const kern::NormShape&, const kern::NormForwardArgs<T>&);          \
  template void norm_backward<T>(const kern::NormShape&, const kern::NormBackwardArgs<T>&);        \
  template void channel_affine<T>(T*, const T*, int64_t, int64_t, int64_t, const double*, const double*, const double*);

SDKD_NORM_INSTANTIATE(float)
SDKD_NORM_INSTANTIATE(double)
#undef SDKD_NORM_INSTANTIATE

}  // namespace sdkd::cpu
