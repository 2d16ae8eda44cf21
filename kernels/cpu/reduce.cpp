#include "kernels/cpu/reduce.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/thread_scratch.hpp"
#include "kernels/cpu/parallel_policy.hpp"

namespace sdkd::cpu {
namespace {

// Elements per block of a contiguous row sum (I == 1), and rows per block of column sums.
constexpr int64_t kRowBlock = 8192;
constexpr int64_t kColumnRows = 512;
// Columns per task of column sums: a task's double accumulators stay in L1.
constexpr int64_t kColumnChunk = 512;
constexpr int kLanes = 8;

bool worth_threads(int64_t elements, int64_t tasks) {
  return tasks > 1 && elements > 32768 && threads_pay_bytes(4.0 * double(elements));
}

// Sum of x[0, n) in double: kLanes independent lanes (vectorised, no chain of dependent adds),
// folded pairwise.
template <class T>
double row_sum(const T* x, int64_t n) {
  double lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) lane[l] += double(x[j + l]);
  for (int l = 0; j < n; ++j, ++l) lane[l] += double(x[j]);
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
  return lane[0];
}

struct PartialSums;  // thread_scratch tag

// I == 1: out[o] = sum over a and over the blocks of each row x[(a * O + o) * R, + R).
template <class T>
void sum_rows(const T* x, const SumBlocks& s, double scale, T* out) {
  const int64_t nb = std::max<int64_t>(1, (s.R + kRowBlock - 1) / kRowBlock);
  const int64_t parts = s.O * s.A * nb;
  double* part = thread_scratch<double, PartialSums>(parts);  // the caller's; tasks write disjoint parts
#pragma omp parallel for schedule(static) if (worth_threads(s.A * s.O * s.R, parts))
  for (int64_t k = 0; k < parts; ++k) {
    const int64_t o = k / (s.A * nb), a = k / nb % s.A, b = k % nb;
    const int64_t r0 = b * kRowBlock, r1 = std::min(s.R, r0 + kRowBlock);
    part[k] = row_sum(x + (a * s.O + o) * s.R + r0, r1 - r0);
  }
  for (int64_t o = 0; o < s.O; ++o) {
    double acc = 0;
    for (int64_t k = o * s.A * nb; k < (o + 1) * s.A * nb; ++k) acc += part[k];
    out[o] = T(acc * scale);
  }
}

// I > 1: out[o][i] = sum over the A * R rows (a, r) of x[(a * O + o) * R + r][i]: tasks take a
// chunk of columns and a block of rows, adding whole rows (contiguous, vectorised over i).
template <class T>
void sum_columns(const T* x, const SumBlocks& s, double scale, T* out) {
  const int64_t rows = s.A * s.R, width = std::min(s.I, kColumnChunk);
  const int64_t nc = (s.I + width - 1) / width, nb = std::max<int64_t>(1, (rows + kColumnRows - 1) / kColumnRows);
  const int64_t tasks = s.O * nc * nb;
  double* part = thread_scratch<double, PartialSums>(tasks * width);
#pragma omp parallel for schedule(static) if (worth_threads(s.A * s.O * s.R * s.I, tasks))
  for (int64_t k = 0; k < tasks; ++k) {
    const int64_t o = k / (nc * nb), c = k / nb % nc, b = k % nb;
    const int64_t i0 = c * width, n = std::min(width, s.I - i0);
    double* acc = part + k * width;
    std::fill(acc, acc + n, 0.0);
    for (int64_t row = b * kColumnRows; row < std::min(rows, (b + 1) * kColumnRows); ++row) {
      const int64_t a = row / s.R, r = row % s.R;
      const T* src = x + ((a * s.O + o) * s.R + r) * s.I + i0;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) acc[i] += double(src[i]);
    }
  }
  for (int64_t o = 0; o < s.O; ++o)
    for (int64_t c = 0; c < nc; ++c) {
      const int64_t i0 = c * width, n = std::min(width, s.I - i0);
      T* dst = out + o * s.I + i0;
      for (int64_t i = 0; i < n; ++i) {
        double acc = 0;
        for (int64_t b = 0; b < nb; ++b) acc += part[((o * nc + c) * nb + b) * width + i];
        dst[i] = T(acc * scale);
      }
    }
}

}  // namespace

template <class T>
void sum_blocks(const T* x, const SumBlocks& s, double scale, T* out) {
  if (s.O * s.I == 0) return;
  if (s.A * s.R == 0) {  // an empty sum
    std::fill(out, out + s.O * s.I, T(0));
    return;
  }
  if (s.I == 1)
    sum_rows(x, s, scale, out);
  else
    sum_columns(x, s, scale, out);
}

template void sum_blocks<float>(const float*, const SumBlocks&, double, float*);
template void sum_blocks<double>(const double*, const SumBlocks&, double, double*);

}  // namespace sdkd::cpu
