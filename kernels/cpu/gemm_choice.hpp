#pragma once
// Which CPU GEMM runs: the BLAS the build links (OpenBLAS) or our blocked kernel
// (gemm_blocked.cpp), decided once per process.
//
// Why a choice at all: an OpenBLAS that does not know the CPU falls back to its generic
// kernels. Debian 12's OpenBLAS 0.3.21 runs its SSE3 "Prescott" kernels on newer Xeons
// (family 6 model 207): 28 GFLOP/s for 1024^3 against 175 for our AVX-512 kernel there. The
// rule: BLAS, unless its kernels are for a vector level below AVX2 while our kernel runs AVX2
// or AVX-512 here (its micro-kernel is chosen per CPU at run time, gemm_micro.hpp). OPENBLAS_CORETYPE is
// never set here (some machines preset it because older OpenBLAS computes wrong results on
// them); SDKD_CPU_GEMM=blas|blocked|auto overrides the rule, for benchmarks and checks.
#include <string>

namespace sdkd::cpu {

enum class CpuGemm { blas, blocked };

struct CpuGemmChoice {
  CpuGemm backend = CpuGemm::blocked;
  std::string reason;  // one line: what was found and why that backend
};

// Vector level of an OpenBLAS core name (case-insensitive): 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512,
// -1 a name this table does not know (then OpenBLAS is trusted).
int openblas_core_level(const std::string& core);

// The vector level of the micro-kernel our blocked GEMM runs on this CPU (gemm_micro.hpp).
int blocked_gemm_level();

// The rule, pure so tests can walk its cases. have_blas: the build links a CBLAS;
// blas_core: OpenBLAS's openblas_get_corename() ("" for another BLAS); ours_level: the vector
// level our blocked kernel was compiled for, as above; forced: SDKD_CPU_GEMM ("" or "auto" for
// the rule; anything else but blas or blocked is an sdkd::Error naming the variable).
CpuGemmChoice choose_cpu_gemm(bool have_blas, const std::string& blas_core, int ours_level, const std::string& forced);

// This process's choice: the rule on this build, this OpenBLAS and the environment, made at
// first use (thread-safe) and fixed afterwards, so a run's numbers do not change midway.
const CpuGemmChoice& cpu_gemm_choice();

}  // namespace sdkd::cpu
