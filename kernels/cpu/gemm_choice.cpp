#include "kernels/cpu/gemm_choice.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include "kernels/cpu/gemm_micro.hpp"
#include "sdkd/error.hpp"

#ifdef SDKD_WITH_CBLAS
#include <cblas.h>
#endif

namespace sdkd::cpu {

namespace {

constexpr const char* kLevelNames[] = {"SSE", "AVX", "AVX2", "AVX-512"};

std::string this_blas_core() {
#if defined(SDKD_WITH_CBLAS) && defined(OPENBLAS_VERSION)
  if (const char* name = openblas_get_corename()) return name;
#endif
  return "";
}

bool build_has_blas() {
#ifdef SDKD_WITH_CBLAS
  return true;
#else
  return false;
#endif
}

}  // namespace

int openblas_core_level(const std::string& core) {
  // OpenBLAS's x86 DYNAMIC_ARCH cores (driver/others/dynamic.c) by the widest vectors their
  // SGEMM kernels use.
  static const std::map<std::string, int> levels = {
      {"katmai", 0},      {"coppermine", 0},  {"northwood", 0}, {"prescott", 0},     {"banias", 0},
      {"atom", 0},        {"core2", 0},       {"penryn", 0},    {"dunnington", 0},   {"nehalem", 0},
      {"athlon", 0},      {"opteron", 0},     {"opteron_sse3", 0}, {"barcelona", 0}, {"nano", 0},
      {"bobcat", 0},      {"sandybridge", 1}, {"bulldozer", 1}, {"piledriver", 1},   {"steamroller", 1},
      {"haswell", 2},     {"excavator", 2},   {"zen", 2},       {"skylakex", 3},     {"cooperlake", 3},
      {"sapphirerapids", 3}};
  const auto it = levels.find(ascii_lower(core));
  return it == levels.end() ? -1 : it->second;
}

int blocked_gemm_level() {
  switch (active_gemm_isa()) {
    case GemmIsa::avx512: return 3;
    case GemmIsa::avx2: return 2;
    case GemmIsa::generic: break;
  }
  return 0;  // the baseline variant: SSE2 on x86-64
}

CpuGemmChoice choose_cpu_gemm(bool have_blas, const std::string& blas_core, int ours_level, const std::string& forced) {
  const std::string f = ascii_lower(forced);
  SDKD_CHECK(f.empty() || f == "auto" || f == "blas" || f == "blocked", "SDKD_CPU_GEMM='", forced,
             "': expected auto, blas or blocked");
  if (!have_blas) return {CpuGemm::blocked, "blocked: this build links no BLAS"};
  if (f == "blas") return {CpuGemm::blas, "blas: SDKD_CPU_GEMM=blas"};
  if (f == "blocked") return {CpuGemm::blocked, "blocked: SDKD_CPU_GEMM=blocked"};
  if (blas_core.empty()) return {CpuGemm::blas, "blas: the linked BLAS (not OpenBLAS: its kernels are trusted)"};
  const int core = openblas_core_level(blas_core), ours = std::clamp(ours_level, 0, 3);
  if (core < 0) return {CpuGemm::blas, str_cat("blas: OpenBLAS core ", blas_core, " (not in our table: trusted)")};
  if (core < 2 && ours >= 2)
    return {CpuGemm::blocked, str_cat("blocked: OpenBLAS runs its ", blas_core, " kernels (", kLevelNames[core],
                                      ") here, our kernel runs ", kLevelNames[ours])};
  return {CpuGemm::blas,
          str_cat("blas: OpenBLAS core ", blas_core, " (", kLevelNames[core], "; our kernel: ", kLevelNames[ours], ")")};
}

const CpuGemmChoice& cpu_gemm_choice() {
  static const CpuGemmChoice choice = [] {
    const char* forced = std::getenv("SDKD_CPU_GEMM");
    return choose_cpu_gemm(build_has_blas(), this_blas_core(), blocked_gemm_level(), forced ? forced : "");
  }();
  return choice;
}

}  // namespace sdkd::cpu
