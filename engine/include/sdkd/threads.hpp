#pragma once
// Thread count for the CPU backend (OpenMP loops and OpenBLAS). Results never depend on it
// except for the summation order inside reductions.
namespace sdkd {
void set_num_threads(int n);
int num_threads();
}  // namespace sdkd
