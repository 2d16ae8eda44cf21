// The blocked GEMM's micro-kernel for AVX-512 (CMake compiles this file with -mavx512f and
// friends); without those flags (another architecture or compiler) there is none.
#include "kernels/cpu/gemm_micro.hpp"
#if defined(__AVX512F__) && defined(__FMA__)
#define SDKD_GEMM_TILE_ISA GemmIsa::avx512
#define SDKD_GEMM_TILE_GETTER gemm_micro_avx512
#include "kernels/cpu/gemm_tile.inc"
#else
SDKD_GEMM_TILE_ABSENT(gemm_micro_avx512)
#endif
