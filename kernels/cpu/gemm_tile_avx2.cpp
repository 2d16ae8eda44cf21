// The blocked GEMM's micro-kernel for AVX2 + FMA (CMake compiles this file with -mavx2 -mfma
// and without AVX-512); without those flags (another architecture or compiler) there is none.
#include "kernels/cpu/gemm_micro.hpp"
#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
#define SDKD_GEMM_TILE_ISA GemmIsa::avx2
#define SDKD_GEMM_TILE_GETTER gemm_micro_avx2
#include "kernels/cpu/gemm_tile.inc"
#else
SDKD_GEMM_TILE_ABSENT(gemm_micro_avx2)
#endif
