// GEMM kernels against the naive triple loop. Each element's error is compared with the
// classical rounding bound  gamma * (|alpha| * (|op(A)| |op(B)|)_ij + |beta * C_ij|),
// gamma = (K + 2) * eps, and the worst ratio error / bound is printed (it must stay <= 1).
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/gemm_choice.hpp"
#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

using namespace sdkd::cpu;

namespace {

// Uniform in [-1, 1) with a full double mantissa (one Philox draw has only 24 bits, and
// products of such numbers would be exact in double, hiding rounding errors).
template <class T>
std::vector<T> random_vector(size_t n, uint64_t stream) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    const double hi = sdkd::Philox::uniform(11, stream, 2 * i);
    const double lo = sdkd::Philox::uniform(11, stream, 2 * i + 1);
    v[i] = T(2 * (hi + lo * 0x1p-24) - 1);
  }
  return v;
}

struct Shape {
  int64_t M, N, K;
};

template <class T>
using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,
                        int64_t, T, T*, int64_t);

// Runs `fn` and the naive oracle on the same operands (stored with lda/ldb/ldc larger than the
// logical width, the padding filled with a sentinel that must not leak or be overwritten) and
// returns the worst error / bound.
template <class T>
double check_against_naive(GemmFn<T> fn, bool ta, bool tb, Shape s, T alpha, T beta,
                           uint64_t seed) {
  const int64_t a_rows = ta ? s.K : s.M, a_cols = ta ? s.M : s.K;
  const int64_t b_rows = tb ? s.N : s.K, b_cols = tb ? s.K : s.N;
  const int64_t lda = a_cols + 3, ldb = b_cols + 2, ldc = s.N + 5;
  const T sentinel = T(1e30);
  std::vector<T> A = random_vector<T>(size_t(a_rows * lda), seed);
  std::vector<T> B = random_vector<T>(size_t(b_rows * ldb), seed + 1);
  std::vector<T> C0 = random_vector<T>(size_t(s.M * ldc), seed + 2);
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t j = s.N; j < ldc; ++j) C0[size_t(i * ldc + j)] = sentinel;

  std::vector<T> C = C0, ref = C0, bound = C0;
  fn(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  gemm_naive(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, ref.data(), ldc);
  std::vector<T> absA(A), absB(B);
  for (auto& v : absA) v = std::abs(v);
  for (auto& v : absB) v = std::abs(v);
  for (auto& v : bound) v = std::abs(v);
  gemm_naive(ta, tb, s.M, s.N, s.K, std::abs(alpha), absA.data(), lda, absB.data(), ldb,
             std::abs(beta), bound.data(), ldc);

  const double gamma = double(s.K + 2) * std::numeric_limits<T>::epsilon();
  double worst = 0;
  for (int64_t i = 0; i < s.M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t k = size_t(i * ldc + j);
      if (j >= s.N) {
        REQUIRE(C[k] == sentinel);  // the padding of C is never written
        continue;
      }
      const double err = std::abs(double(C[k]) - double(ref[k]));
      const double tol = gamma * double(bound[k]) + std::numeric_limits<T>::min();
      worst = std::max(worst, err / tol);
    }
  }
  return worst;
}

const std::vector<Shape> kShapes = {{1, 1, 1},   {7, 13, 5},  {65, 33, 17},   {1, 40, 3},
                                    {40, 1, 9},  {3, 5, 0},   {150, 70, 300}, {3, 2100, 5},
                                    {17, 16, 1}, {9, 97, 129},
                                    // the SimVP readout's weight gradient, data gradient (both
                                    // gemm_skinny's with transB, depth one) and forward (packed),
                                    // two rows, depth one
                                    {1, 16, 4096}, {16, 4096, 1}, {1, 4096, 16}, {2, 300, 70},
                                    {2, 37, 1}};

template <class T>
double check_all(const char* name, GemmFn<T> fn) {
  const T alphas[] = {T(1), T(-0.75)};
  const T betas[] = {T(0), T(1), T(0.5)};
  double worst = 0;
  uint64_t seed = 100;
  for (const Shape& s : kShapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (T alpha : alphas)
          for (T beta : betas) {
            INFO(name << " M=" << s.M << " N=" << s.N << " K=" << s.K << " transA=" << ta
                      << " transB=" << tb << " alpha=" << alpha << " beta=" << beta);
            const double r = check_against_naive<T>(fn, ta, tb, s, alpha, beta, seed += 3);
            CHECK(r <= 1.0);
            worst = std::max(worst, r);
          }
  std::printf("%s<%s>: worst error / bound = %.3g\n", name, sizeof(T) == 4 ? "float" : "double",
              worst);
  return worst;
}

}  // namespace

TEST_CASE("gemm matches the naive product for all transposes, odd sizes, alpha/beta", "[gemm]") {
  CHECK(check_all<float>("gemm", &gemm<float>) <= 1.0);
  CHECK(check_all<double>("gemm", &gemm<double>) <= 1.0);
}

TEST_CASE("gemm_blocked matches the naive product for all transposes, odd sizes, alpha/beta",
          "[gemm]") {
  CHECK(check_all<float>("gemm_blocked", &gemm_blocked<float>) <= 1.0);
  CHECK(check_all<double>("gemm_blocked", &gemm_blocked<double>) <= 1.0);
}

namespace {
template <GemmIsa I, class T>
void gemm_on(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
             int64_t ldb, T beta, T* C, int64_t ldc) {
  gemm_blocked_isa(I, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <GemmIsa I>
void check_isa() {
  if (gemm_micro<float>(I) == nullptr || !cpu_runs(I)) {
    std::printf("gemm micro-kernel %s: SKIPPED (%s)\n", gemm_isa_name(I),
                gemm_micro<float>(I) == nullptr ? "not in this build" : "this CPU does not run it");
    return;
  }
  const std::string name = std::string("gemm_blocked_isa ") + gemm_isa_name(I);
  CHECK(check_all<float>(name.c_str(), &gemm_on<I, float>) <= 1.0);
  CHECK(check_all<double>(name.c_str(), &gemm_on<I, double>) <= 1.0);
}
}  // namespace

TEST_CASE("every GEMM micro-kernel variant this CPU runs matches the naive product", "[gemm]") {
  CHECK(gemm_micro<float>(GemmIsa::generic) != nullptr);  // the fallback always exists
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  // CMake compiles the AVX variants on every x86 GCC/Clang build, whatever the build machine.
  CHECK(gemm_micro<float>(GemmIsa::avx2) != nullptr);
  CHECK(gemm_micro<double>(GemmIsa::avx512) != nullptr);
  CHECK(cpu_runs(GemmIsa::avx2) == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
#endif
  check_isa<GemmIsa::generic>();
  check_isa<GemmIsa::avx2>();
  check_isa<GemmIsa::avx512>();
  // A variant's register tile matches its vector width: NR spans two vectors.
  for (GemmIsa isa : {GemmIsa::generic, GemmIsa::avx2, GemmIsa::avx512})
    if (const GemmMicro<float>* m = gemm_micro<float>(isa)) {
      CAPTURE(gemm_isa_name(isa));
      CHECK(m->isa == isa);
      CHECK(m->NR == (isa == GemmIsa::avx512 ? 32 : isa == GemmIsa::avx2 ? 16 : 8));
      CHECK(gemm_micro<double>(isa)->NR == m->NR / 2);
    }
}

TEST_CASE("the GEMM micro-kernel choice: the widest compiled variant the CPU runs, or SDKD_CPU_GEMM_ISA", "[gemm]") {
  const bool all[kGemmIsas] = {true, true, true}, no512[kGemmIsas] = {true, true, false};
  const bool only_generic[kGemmIsas] = {true, false, false};
  CHECK(choose_gemm_isa(all, all, "") == GemmIsa::avx512);
  CHECK(choose_gemm_isa(all, no512, "auto") == GemmIsa::avx2);   // an AVX2 CPU
  CHECK(choose_gemm_isa(no512, all, "") == GemmIsa::avx2);       // a build without the AVX-512 file
  CHECK(choose_gemm_isa(all, only_generic, "") == GemmIsa::generic);
  CHECK(choose_gemm_isa(all, all, "Generic") == GemmIsa::generic);
  CHECK(choose_gemm_isa(all, all, "avx2") == GemmIsa::avx2);
  CHECK_THROWS_WITH(choose_gemm_isa(all, no512, "avx512"),
                    "SDKD_CPU_GEMM_ISA=avx512: this CPU does not run it; here: auto, generic, avx2");
  CHECK_THROWS_WITH(choose_gemm_isa(only_generic, all, "avx2"),
                    "SDKD_CPU_GEMM_ISA=avx2: this build has no such kernel; here: auto, generic");
  CHECK_THROWS_WITH(choose_gemm_isa(all, all, "neon"), "SDKD_CPU_GEMM_ISA='neon': expected auto, generic, avx2 or avx512");
  // This process's choice is a variant it can run.
  CHECK(gemm_micro<float>(active_gemm_isa()) != nullptr);
  CHECK(cpu_runs(active_gemm_isa()));
}

TEST_CASE("gemm with beta = 0 ignores NaN already in C", "[gemm]") {
  const int64_t M = 9, N = 20, K = 7;
  auto A = random_vector<float>(M * K, 1), B = random_vector<float>(K * N, 2);
  std::vector<float> ref(M * N, 0.f);
  gemm_naive(false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, ref.data(), N);
  for (GemmFn<float> fn : {&gemm<float>, &gemm_blocked<float>}) {
    std::vector<float> C(M * N, std::nanf(""));
    fn(false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, C.data(), N);
    for (int64_t i = 0; i < M * N; ++i) REQUIRE(C[i] == Approx(ref[i]).epsilon(1e-5));
  }
}

TEST_CASE("gemm_blocked gives bitwise the same result on 1 and 3 threads", "[gemm]") {
  const int64_t M = 131, N = 97, K = 300;
  auto A = random_vector<float>(M * K, 5), B = random_vector<float>(N * K, 6);
  std::vector<float> one(M * N, 0.f), three(M * N, 0.f);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  gemm_blocked(false, true, M, N, K, 1.f, A.data(), K, B.data(), K, 0.f, one.data(), N);
  omp_set_num_threads(3);
  gemm_blocked(false, true, M, N, K, 1.f, A.data(), K, B.data(), K, 0.f, three.data(), N);
  omp_set_num_threads(saved);
  REQUIRE(one == three);
}

TEST_CASE("gemm_blocked's thin products (one or two rows, depth one) give the same bits on 1 and 3 threads",
          "[gemm]") {
  // Each large enough for the threaded split (2e6 flops), with column counts that are no
  // multiple of the split's 16-column runs; untransposed B takes the packed kernel.
  const Shape shapes[] = {{1, 4099, 600}, {2, 2053, 700}, {600, 4099, 1}};
  for (const Shape& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        INFO("M=" << s.M << " N=" << s.N << " K=" << s.K << " transA=" << ta << " transB=" << tb);
        const int64_t lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
        auto A = random_vector<float>(size_t(s.M * s.K), 21), B = random_vector<float>(size_t(s.K * s.N), 22);
        const std::vector<float> C0 = random_vector<float>(size_t(s.M * s.N), 23);
        std::vector<float> one = C0, three = C0, ref = C0;
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        gemm_blocked(bool(ta), bool(tb), s.M, s.N, s.K, 1.5f, A.data(), lda, B.data(), ldb, 0.5f, one.data(), s.N);
        omp_set_num_threads(3);
        gemm_blocked(bool(ta), bool(tb), s.M, s.N, s.K, 1.5f, A.data(), lda, B.data(), ldb, 0.5f, three.data(), s.N);
        omp_set_num_threads(saved);
        REQUIRE(one == three);
        gemm_naive(bool(ta), bool(tb), s.M, s.N, s.K, 1.5f, A.data(), lda, B.data(), ldb, 0.5f, ref.data(), s.N);
        for (size_t i = 0; i < ref.size(); ++i) REQUIRE(one[i] == Approx(ref[i]).epsilon(1e-4).margin(1e-5));
      }
}

TEST_CASE("gemm_blocked's thin products with beta = 0 ignore NaN in C, and alpha = 0 reads neither operand",
          "[gemm]") {
  const Shape shapes[] = {{1, 40, 33}, {2, 19, 5}, {7, 12, 1}};
  for (const Shape& s : shapes) {
    INFO("M=" << s.M << " N=" << s.N << " K=" << s.K);
    auto A = random_vector<double>(size_t(s.M * s.K), 31), B = random_vector<double>(size_t(s.K * s.N), 32);
    std::vector<double> ref(size_t(s.M * s.N), 0.0), C(size_t(s.M * s.N), std::nan(""));
    gemm_naive(false, false, s.M, s.N, s.K, 1.0, A.data(), s.K, B.data(), s.N, 0.0, ref.data(), s.N);
    gemm_blocked(false, false, s.M, s.N, s.K, 1.0, A.data(), s.K, B.data(), s.N, 0.0, C.data(), s.N);
    for (size_t i = 0; i < C.size(); ++i) REQUIRE(C[i] == Approx(ref[i]).epsilon(1e-13));
    // alpha = 0: C = beta * C even where A holds infinities (BLAS does not read A or B then).
    std::vector<double> inf_a(A.size(), std::numeric_limits<double>::infinity());
    std::vector<double> c2(size_t(s.M * s.N), 2.0);
    gemm_blocked(false, false, s.M, s.N, s.K, 0.0, inf_a.data(), s.K, B.data(), s.N, 0.5, c2.data(), s.N);
    for (double v : c2) REQUIRE(v == 1.0);
  }
}

TEST_CASE("gemm_batched equals one naive product per matrix", "[gemm]") {
  const int64_t M = 6, N = 11, K = 5, batch = 4;
  const int64_t sA = M * K + 3, sB = K * N + 1, sC = M * N + 2;  // strides with gaps
  auto A = random_vector<double>(batch * sA, 7), B = random_vector<double>(batch * sB, 8);
  auto C = random_vector<double>(batch * sC, 9);
  std::vector<double> ref = C;
  for (int64_t b = 0; b < batch; ++b)
    gemm_naive(true, false, M, N, K, 2.0, A.data() + b * sA, M, B.data() + b * sB, N, -1.0,
               ref.data() + b * sC, N);
  for (int threads : {1, 2}) {
    std::vector<double> out = C;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    gemm_batched(true, false, M, N, K, 2.0, A.data(), M, B.data(), N, -1.0, out.data(), N, batch,
                 sA, sB, sC);
    omp_set_num_threads(saved);
    for (size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == Approx(ref[i]).epsilon(1e-13));
  }
}

TEST_CASE("gemm rejects a leading dimension smaller than the row length", "[gemm]") {
  std::vector<float> A(12), B(12), C(12);
  REQUIRE_THROWS_AS(gemm(false, false, 3, 4, 3, 1.f, A.data(), 2, B.data(), 4, 0.f, C.data(), 4),
                    sdkd::Error);
  REQUIRE_THROWS_WITH(gemm(false, true, 3, 4, 3, 1.f, A.data(), 3, B.data(), 2, 0.f, C.data(), 4),
                      Catch::Contains("ldb=2"));
  REQUIRE_THROWS_WITH(
      gemm_blocked(false, false, 3, 4, 3, 1.f, A.data(), 3, B.data(), 4, 0.f, C.data(), 3),
      Catch::Contains("ldc=3"));
  REQUIRE_THROWS_AS(gemm(false, false, -1, 4, 3, 1.f, A.data(), 3, B.data(), 4, 0.f, C.data(), 4),
                    sdkd::Error);
}

TEST_CASE("gemm called from inside an OpenMP loop matches the naive product", "[gemm]") {
  // Inside a parallel region gemm must not start BLAS threads; with or without a
  // SerialGemmScope each call still computes its own product.
  const int64_t M = 33, N = 40, K = 129, count = 4;
  auto A = random_vector<float>(count * M * K, 12), B = random_vector<float>(K * N, 13);
  std::vector<float> ref(count * M * N, 0.f);
  for (int64_t b = 0; b < count; ++b)
    gemm_naive(false, false, M, N, K, 1.f, A.data() + b * M * K, K, B.data(), N, 0.f,
               ref.data() + b * M * N, N);
  for (bool scoped : {false, true}) {
    std::vector<float> out(count * M * N, 0.f);
    {
      std::unique_ptr<SerialGemmScope> scope;
      if (scoped) scope = std::make_unique<SerialGemmScope>();
#pragma omp parallel for num_threads(2)
      for (int64_t b = 0; b < count; ++b)
        gemm(false, false, M, N, K, 1.f, A.data() + b * M * K, K, B.data(), N, 0.f,
             out.data() + b * M * N, N);
    }
    for (size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == Approx(ref[i]).margin(1e-4));
  }
}

TEST_CASE("the CPU GEMM choice: BLAS unless OpenBLAS runs generic kernels our kernel beats", "[gemm]") {
  // Levels: 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512.
  CHECK(openblas_core_level("Prescott") == 0);
  CHECK(openblas_core_level("SANDYBRIDGE") == 1);
  CHECK(openblas_core_level("Haswell") == 2);
  CHECK(openblas_core_level("SkylakeX") == 3);
  CHECK(openblas_core_level("Zen") == 2);
  CHECK(openblas_core_level("FutureLake") == -1);
  const struct {
    bool have_blas;
    const char* core;
    int ours;
    const char* forced;
    CpuGemm want;
    const char* reason;
  } cases[] = {
      // The measured case: Debian 12's OpenBLAS on a family 6 model 207 Xeon.
      {true, "Prescott", 3, "", CpuGemm::blocked,
       "blocked: OpenBLAS runs its Prescott kernels (SSE) here, our kernel runs AVX-512"},
      {true, "Core2", 2, "auto", CpuGemm::blocked, "blocked: OpenBLAS runs its Core2 kernels (SSE) here, our kernel runs AVX2"},
      {true, "Sandybridge", 3, "", CpuGemm::blocked, "our kernel runs AVX-512"},
      {true, "Prescott", 0, "", CpuGemm::blas, "blas: OpenBLAS core Prescott (SSE; our kernel: SSE)"},  // no better
      {true, "Haswell", 3, "", CpuGemm::blas, "blas: OpenBLAS core Haswell (AVX2; our kernel: AVX-512)"},
      {true, "SkylakeX", 3, "", CpuGemm::blas, "blas: OpenBLAS core SkylakeX"},
      {true, "FutureLake", 3, "", CpuGemm::blas, "(not in our table: trusted)"},
      {true, "", 3, "", CpuGemm::blas, "not OpenBLAS"},
      {true, "SkylakeX", 3, "blocked", CpuGemm::blocked, "blocked: SDKD_CPU_GEMM=blocked"},
      {true, "Prescott", 3, "BLAS", CpuGemm::blas, "blas: SDKD_CPU_GEMM=blas"},
      {false, "", 3, "blas", CpuGemm::blocked, "blocked: this build links no BLAS"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.core, c.ours, c.forced);
    const CpuGemmChoice got = choose_cpu_gemm(c.have_blas, c.core, c.ours, c.forced);
    CHECK(got.backend == c.want);
    CHECK_THAT(got.reason, Catch::Matchers::Contains(c.reason));
  }
  CHECK_THROWS_WITH(choose_cpu_gemm(true, "Prescott", 3, "fast"), "SDKD_CPU_GEMM='fast': expected auto, blas or blocked");
  // This process's choice is one of the two and says why.
  CHECK_FALSE(cpu_gemm_choice().reason.empty());
}
