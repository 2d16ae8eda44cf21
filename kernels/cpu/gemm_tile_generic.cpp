// The blocked GEMM's micro-kernel for the build's baseline instruction set (CMake removes the
// AVX flags from this file, so on x86-64 it is SSE2 even in a -march=native build): the
// fallback every CPU runs.
#define SDKD_GEMM_TILE_ISA GemmIsa::generic
#define SDKD_GEMM_TILE_GETTER gemm_micro_generic
#include "kernels/cpu/gemm_tile.inc"
