// CUDA runtime queries (runtime API only: linking the driver library would stop the binary
// from starting on machines without a GPU driver).
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

namespace sdkd::cuda_rt {

int device_count() {
  // Without a GPU the runtime returns an error (35: insufficient driver, 100: no device) and
  // may leave the count unwritten, so start from 0 and treat any error as "none".
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return n;
}

std::string device_summary(int index) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, index) != cudaSuccess) return "unknown device";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB, %d SMs)", p.name, p.major, p.minor,
                double(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), p.multiProcessorCount);
  return buf;
}

}  // namespace sdkd::cuda_rt
