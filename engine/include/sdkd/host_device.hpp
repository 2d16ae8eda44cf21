#pragma once
// SDKD_HD marks a function that compiles for both backends: plain C++ on the host, and
// __host__ __device__ under nvcc (which defines __CUDACC__). Formulas shared by the CPU and the
// CUDA kernels (Philox draws, pointwise losses) are written once with it.
#if defined(__CUDACC__)
#define SDKD_HD __host__ __device__
#else
#define SDKD_HD
#endif
