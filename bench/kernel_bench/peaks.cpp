// Peaks: a datasheet table for GPUs, a measurement for the CPU.
#include "bench/kernel_bench/peaks.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace sdkd::bench {

Peaks gpu_peaks(const std::string& s) {
  auto has = [&](const char* x) { return s.find(x) != std::string::npos; };
  // Dense (no sparsity) datasheet figures; GFLOP/s and GB/s.
  if (has("H200")) return {"NVIDIA datasheet: H200 SXM", 67e3, 495e3, 4800};
  if (has("H100") && (has("PCIe") || has("PCIE"))) return {"NVIDIA datasheet: H100 PCIe", 51e3, 378e3, 2000};
  if (has("H100")) return {"NVIDIA datasheet: H100 SXM", 67e3, 495e3, 3350};
  if (has("A100")) return {"NVIDIA datasheet: A100", 19.5e3, 156e3, 2000};
  return {"unknown GPU: no peak table entry", 0, 0, 0};
}

namespace {

using clock_type = std::chrono::steady_clock;

// Independent multiply-add chains (more than the FMA latency x throughput product) on the
// widest vectors the build targets; each iteration does kChains * lanes FMAs.
constexpr int kChains = 12;

double fma_loop(int64_t iters) {
#if defined(__AVX512F__)
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(float(c) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  // Stored and summed by hand: GCC 12 warns falsely inside _mm512_reduce_add_ps.
  alignas(64) float out[16];
  float sum = 0;
  for (int c = 0; c < kChains; ++c) {
    _mm512_store_ps(out, acc[c]);
    for (float v : out) sum += v;
  }
  return sum;
#elif defined(__FMA__)
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(float(c) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  alignas(32) float out[8];
  float sum = 0;
  for (int c = 0; c < kChains; ++c) {
    _mm256_store_ps(out, acc[c]);
    for (float v : out) sum += v;
  }
  return sum;
#else
  float acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = float(c) * 1e-3f;
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = std::fma(acc[c], 0.999999f, 1e-7f);
  float sum = 0;
  for (float v : acc) sum += v;
  return sum;
#endif
}

constexpr int kLanes =
#if defined(__AVX512F__)
    16;
#elif defined(__FMA__)
    8;
#else
    1;
#endif

// GFLOP/s of the FMA loop on `threads` threads (2 FLOPs per FMA lane), best of 5.
double measure_fma(int threads) {
  const int64_t iters = 10'000'000;
  double best = 0;
  volatile double sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = clock_type::now();
    double s = 0;
#pragma omp parallel num_threads(threads) reduction(+ : s)
    s += fma_loop(iters);
    const double sec = std::chrono::duration<double>(clock_type::now() - t0).count();
    sink = sink + s;
    best = std::max(best, 2.0 * kLanes * kChains * double(iters) * threads / sec / 1e9);
  }
  return best;
}

// STREAM triad a = b + s c over 3 x 64 MiB (well beyond any cache), counted as STREAM does:
// 3 x 4 bytes per element (the write-allocate read of `a` is not counted). Best of 5.
double measure_triad(int threads) {
  const int64_t n = int64_t(16) << 20;
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = 0;  // first touch by the threads that use it
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = clock_type::now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
    const double sec = std::chrono::duration<double>(clock_type::now() - t0).count();
    best = std::max(best, 12.0 * double(n) / sec / 1e9);
  }
  volatile float sink = a[n / 2];
  (void)sink;
  return best;
}

}  // namespace

CpuPeaks measure_cpu_peaks(int threads) {
  CpuPeaks p;
  p.threads = threads;
  const char* isa = kLanes == 16 ? "AVX-512 FMA" : kLanes == 8 ? "AVX2 FMA" : "scalar fma";
  p.one_thread = {std::string("measured: ") + isa + " loop, STREAM triad, 1 thread", measure_fma(1), 0,
                  measure_triad(1)};
  if (threads == 1) {
    p.all = p.one_thread;
  } else {
    p.all = {std::string("measured: ") + isa + " loop, STREAM triad, " + std::to_string(threads) + " threads",
             measure_fma(threads), 0, measure_triad(threads)};
  }
  return p;
}

}  // namespace sdkd::bench
