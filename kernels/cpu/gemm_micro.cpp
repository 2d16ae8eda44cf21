// Which compiled GEMM micro-kernel runs (gemm_micro.hpp): the CPU's features, the rule, and
// the process-wide choice.
#include "kernels/cpu/gemm_micro.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "sdkd/error.hpp"

namespace sdkd::cpu {

namespace {

constexpr const char* kKeys[kGemmIsas] = {"generic", "avx2", "avx512"};

}  // namespace

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::generic: return "generic";
    case GemmIsa::avx2: return "AVX2";
    case GemmIsa::avx512: return "AVX-512";
  }
  return "?";
}

template <class T>
const GemmMicro<T>* gemm_micro(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::generic: return gemm_micro_generic<T>();
    case GemmIsa::avx2: return gemm_micro_avx2<T>();
    case GemmIsa::avx512: return gemm_micro_avx512<T>();
  }
  return nullptr;
}
template const GemmMicro<float>* gemm_micro<float>(GemmIsa);
template const GemmMicro<double>* gemm_micro<double>(GemmIsa);

namespace {

bool cpu_has(GemmIsa isa) {
  if (isa == GemmIsa::generic) return true;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  // libgcc's feature bits also check that the OS saves the YMM / ZMM state (XGETBV).
  __builtin_cpu_init();
  if (isa == GemmIsa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

bool cpu_runs(GemmIsa isa) {
  static const bool runs[kGemmIsas] = {cpu_has(GemmIsa::generic), cpu_has(GemmIsa::avx2), cpu_has(GemmIsa::avx512)};
  return runs[int(isa)];
}

GemmIsa choose_gemm_isa(const bool compiled[kGemmIsas], const bool runs[kGemmIsas], const std::string& forced) {
  const std::string f = ascii_lower(forced);
  std::string offered;
  int best = 0;
  for (int i = 0; i < kGemmIsas; ++i)
    if (compiled[i] && runs[i]) {
      best = i;
      offered += offered.empty() ? kKeys[i] : str_cat(", ", kKeys[i]);
    }
  if (f.empty() || f == "auto") return GemmIsa(best);
  for (int i = 0; i < kGemmIsas; ++i)
    if (f == kKeys[i]) {
      SDKD_CHECK(compiled[i] && runs[i], "SDKD_CPU_GEMM_ISA=", forced, ": ",
                 compiled[i] ? "this CPU does not run it" : "this build has no such kernel",
                 "; here: auto, ", offered);
      return GemmIsa(i);
    }
  throw Error(str_cat("SDKD_CPU_GEMM_ISA='", forced, "': expected auto, generic, avx2 or avx512"));
}

GemmIsa active_gemm_isa() {
  static const GemmIsa isa = [] {
    bool compiled[kGemmIsas], runs[kGemmIsas];
    for (int i = 0; i < kGemmIsas; ++i) {
      compiled[i] = gemm_micro<float>(GemmIsa(i)) != nullptr;
      runs[i] = cpu_runs(GemmIsa(i));
    }
    const char* forced = std::getenv("SDKD_CPU_GEMM_ISA");
    return choose_gemm_isa(compiled, runs, forced ? forced : "");
  }();
  return isa;
}

}  // namespace sdkd::cpu
