#pragma once
// The vector type of the direct convolution loops (conv_direct.cpp): GCC/Clang vector
// extensions, as wide as the build's widest registers. Written as explicit vectors rather than
// `omp simd` loops because the loops keep a fixed tile of accumulators across a runtime-length
// tap loop; with plain arrays the compiler may leave that tile in memory (a load and a store
// per multiply-add), with vector variables it stays in registers.
#include <cstdint>
#include <cstring>

#include "kernels/internal.hpp"

namespace sdkd::cpu::simd {

#if defined(__AVX512F__)
inline constexpr int kBytes = 64, kRegisters = 32;
#elif defined(__AVX__)
inline constexpr int kBytes = 32, kRegisters = 16;
#else
inline constexpr int kBytes = 16, kRegisters = 16;
#endif

// A dependent `T __attribute__((vector_size))` is ignored by GCC, hence one specialisation
// per element type.
template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kBytes)));
};
template <class T>
using Vec = typename VecOf<T>::type;

template <class T>
inline constexpr int64_t kLanes = kBytes / int64_t(sizeof(T));

// Accumulators one register tile may use: the rest of the file holds the loaded operands.
inline constexpr int kAccumulators = kRegisters == 32 ? 24 : 12;

// Unaligned loads and stores (memcpy compiles to one vector move).
template <class T>
[[gnu::always_inline]] inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The first n lanes from p, zeros after them (p[n..] is never read).
template <class T>
[[gnu::always_inline]] inline Vec<T> load_first(const T* p, int64_t n) {
  T tmp[kLanes<T>] = {};
  for (int64_t i = 0; i < n; ++i) tmp[i] = p[i];
  return load(tmp);
}

template <class T>
[[gnu::always_inline]] inline void store(T* p, Vec<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// Stores the first n lanes of v.
template <class T>
[[gnu::always_inline]] inline void store_first(T* p, Vec<T> v, int64_t n) {
  T tmp[kLanes<T>];
  std::memcpy(tmp, &v, sizeof v);
  for (int64_t i = 0; i < n; ++i) p[i] = tmp[i];
}

// Returns v unchanged, but forces it into a register: GCC otherwise folds a load that several
// multiply-adds share into each of them as a memory operand, which makes a loop that was
// meant to load once per vector issue a load per multiply-add.
template <class V>
[[gnu::always_inline]] inline V in_register(V v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v));
#endif
  return v;
}

// Software prefetch into the L2 of a long run (the next task's source) spread over n calls of
// step(), a few lines at a time from inside a loop of arithmetic: the hardware prefetchers
// follow few streams and the convolution loops read many short runs (one per channel), and a
// burst of hundreds of prefetches stalls on the full miss queue like the loads it replaces.
struct Prefetch {
  const char* next = nullptr;
  const char* end = nullptr;
  int64_t per_step = 0;

  static Prefetch spread(const void* p, int64_t bytes, int64_t steps) {
    Prefetch f;
    f.next = static_cast<const char*>(p), f.end = f.next + bytes;
    f.per_step = (bytes + 63) / 64 / (steps > 0 ? steps : 1) + 1;
    return f;
  }
  [[gnu::always_inline]] void step() {
    for (int64_t i = 0; i < per_step && next < end; ++i, next += 64) __builtin_prefetch(next, 0, 2);
  }
};

template <class T>
[[gnu::always_inline]] inline Vec<T> splat(T x) {
  return Vec<T>{} + x;
}

// The lanes summed in double in a fixed order, pairwise (lane i + lane i + w for w = L/2, L/4,
// ..., 1): no result depends on scheduling, and each step is one vector addition of two halves.
// (A lane-order chain was 16 dependent scalar additions per weight; the weight gradient of a
// small plane reduces every weight once per chunk of images, and that chain cost as much as
// the products.)
namespace lanes_detail {
typedef double D2 __attribute__((vector_size(16)));
typedef double D4 __attribute__((vector_size(32)));
typedef double D8 __attribute__((vector_size(64)));
template <class V>
[[gnu::always_inline]] inline V half(const double* d) {
  V v;
  std::memcpy(&v, d, sizeof v);
  return v;
}
// d[0, 2L) folded to L values: d[i] + d[i + L].
template <class V>
[[gnu::always_inline]] inline void fold(double* d) {
  const V s = half<V>(d) + half<V>(d + sizeof(V) / sizeof(double));
  std::memcpy(d, &s, sizeof s);
}
}  // namespace lanes_detail

template <class T>
inline double sum_lanes(Vec<T> v) {
  using namespace lanes_detail;
  constexpr int64_t L = kLanes<T>;
  T tmp[L];
  std::memcpy(tmp, &v, sizeof v);
  double d[L];
  for (int64_t i = 0; i < L; ++i) d[i] = double(tmp[i]);
  if constexpr (L >= 16) fold<D8>(d);
  if constexpr (L >= 8) fold<D4>(d);
  if constexpr (L >= 4) fold<D2>(d);
  return d[0] + d[1];
}

}  // namespace sdkd::cpu::simd
