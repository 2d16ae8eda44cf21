#pragma once
// The blocked GEMM's inner part (packing and register-tiled micro-kernel, gemm_tile.inc),
// compiled once per instruction set: gemm_tile_generic.cpp for the build's baseline (SSE2 on
// x86-64), gemm_tile_avx2.cpp with -mavx2 -mfma, gemm_tile_avx512.cpp with AVX-512 (CMake sets
// those flags on those files only). At first use the widest variant this CPU runs is chosen,
// so a portable build (SDKD_NATIVE=OFF, a packaged library) still multiplies with AVX-512
// where the CPU has it, and a machine without it never executes those instructions.
// SDKD_CPU_GEMM_ISA=generic|avx2|avx512|auto overrides the choice (benchmarks, tests).
#include <cstdint>
#include <string>

#include "kernels/internal.hpp"

namespace sdkd::cpu {

enum class GemmIsa { generic = 0, avx2 = 1, avx512 = 2 };
inline constexpr int kGemmIsas = 3;

const char* gemm_isa_name(GemmIsa isa);  // "generic", "AVX2", "AVX-512"

// One compiled variant: its register tile, cache blocking and the serial product of one tile
// of C, C[m x n] += alpha op(A)[rows i0..] op(B)[cols j0..] over the whole depth K, packing into
// bpack (KC x round_up(min(NC, n), NR) elements) and apack (KC x round_up(min(MC, m), MR)).
template <class T>
struct GemmMicro {
  GemmIsa isa;
  int MR, NR;
  int64_t KC, MC, NC;
  void (*tile)(bool transA, bool transB, int64_t i0, int64_t m, int64_t j0, int64_t n, int64_t K, T alpha,
               const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, T* bpack, T* apack);
};

// The variant compiled for isa, or null where this build has none (the AVX variants on a
// compiler or architecture without those flags). Defined in the gemm_tile_*.cpp files.
template <class T>
const GemmMicro<T>* gemm_micro_generic();
template <class T>
const GemmMicro<T>* gemm_micro_avx2();
template <class T>
const GemmMicro<T>* gemm_micro_avx512();
template <class T>
const GemmMicro<T>* gemm_micro(GemmIsa isa);

// What a gemm_tile_<isa>.cpp compiled without its flags defines: no variant.
#define SDKD_GEMM_TILE_ABSENT(getter)                      \
  namespace sdkd::cpu {                                    \
  template <class T>                                       \
  const GemmMicro<T>* getter() {                           \
    return nullptr;                                        \
  }                                                        \
  template const GemmMicro<float>* getter<float>();        \
  template const GemmMicro<double>* getter<double>();      \
  }

// Whether this CPU (and its OS, which must save the wider registers) runs isa's instructions.
bool cpu_runs(GemmIsa isa);

// The rule, pure so tests can walk it: the widest isa that is compiled and that the CPU runs;
// forced ("" or "auto" for the rule, else generic/avx2/avx512) must be one of those, or it is
// an sdkd::Error naming SDKD_CPU_GEMM_ISA and what this machine offers.
GemmIsa choose_gemm_isa(const bool compiled[kGemmIsas], const bool runs[kGemmIsas], const std::string& forced);

// s in lower case (ASCII): SDKD_CPU_GEMM and SDKD_CPU_GEMM_ISA are read case-insensitively.
std::string ascii_lower(std::string s);

// This process's variant, chosen at first use (thread-safe) and fixed afterwards.
GemmIsa active_gemm_isa();

}  // namespace sdkd::cpu
