#pragma once
// Strided/broadcast loops shared by the elementwise ops (private to the engine).
#include <algorithm>
#include <vector>

#include "dispatch.hpp"
#include "kernels/cpu/parallel_policy.hpp"

namespace sdkd::detail {

// Strides of `t` seen through broadcasting to `out_shape` (0 on broadcast dims).
inline Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  const int64_t nd = int64_t(out_shape.size()), td = t.dim();
  Shape st(size_t(nd), 0);
  for (int64_t i = 0; i < td; ++i) {
    const int64_t o = nd - td + i;
    st[size_t(o)] = t.shape()[size_t(i)] == 1 ? 0 : t.strides()[size_t(i)];
  }
  return st;
}

// out[i] = f(a[i'], b[i'']) over the broadcast shape; out is contiguous.
template <class T, class F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const int64_t n = out.numel();
  T* o = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if (a.shape() == out.shape() && b.shape() == out.shape() && a.is_contiguous() && b.is_contiguous()) {
#pragma omp parallel for schedule(static) if (n > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(n)))
    for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    return;
  }
  if (b.numel() == 1 && a.shape() == out.shape() && a.is_contiguous()) {
    const T s = pb[0];
#pragma omp parallel for schedule(static) if (n > 32768 && cpu::threads_pay_bytes(2.0 * sizeof(T) * double(n)))
    for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i], s);
    return;
  }
  const Shape& sh = out.shape();
  const int64_t nd = out.dim();
  if (nd == 0) {
    o[0] = f(pa[0], pb[0]);
    return;
  }
  const Shape sa = broadcast_strides(a, sh), sb = broadcast_strides(b, sh);
  const int64_t inner = sh[size_t(nd - 1)], rows = n / std::max<int64_t>(inner, 1);
  const int64_t ia = sa[size_t(nd - 1)], ib = sb[size_t(nd - 1)];
#pragma omp parallel for schedule(static) if (n > 32768 && cpu::threads_pay_bytes(3.0 * sizeof(T) * double(n)))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, offa = 0, offb = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      const int64_t idx = rem % sh[size_t(d)];
      rem /= sh[size_t(d)];
      offa += idx * sa[size_t(d)];
      offb += idx * sb[size_t(d)];
    }
    T* orow = o + r * inner;
    for (int64_t j = 0; j < inner; ++j) orow[j] = f(pa[offa + j * ia], pb[offb + j * ib]);
  }
}

// out[i] = f(a[i]) with out contiguous and a contiguous.
template <class T, class F>
void unary_loop(const Tensor& a, Tensor& out, F f) {
  const int64_t n = out.numel();
  const T* pa = a.data<T>();
  T* o = out.data<T>();
  // simd: the formulas are branch-free (host_exp), so each thread's chunk vectorises.
  // if(parallel: ...): a bare if() on a combined construct also applies to its simd part
  // (OpenMP 5.0), and GCC then ran every loop of up to 32768 elements scalar, 8x slower.
#pragma omp parallel for simd schedule(static) if (parallel : n > 32768 && cpu::threads_pay_bytes(2.0 * sizeof(T) * double(n)))
  for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i]);
}

// Sum of f(i) for i in [0, n) in double, in fixed blocks summed in order, so the result does
// not depend on the number of threads (reproducible losses across machines and resumes).
template <class F>
double blocked_sum(int64_t n, F f) {
  constexpr int64_t kBlock = 8192;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(size_t(blocks), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 1 && cpu::threads_pay_bytes(16.0 * double(n)))
  for (int64_t b = 0; b < blocks; ++b) {
    double acc = 0;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) acc += f(i);
    part[size_t(b)] = acc;
  }
  double total = 0;
  for (double v : part) total += v;
  return total;
}

}  // namespace sdkd::detail
