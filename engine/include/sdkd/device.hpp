#pragma once
// What accelerators this process can use. Safe to call on machines without a GPU or driver:
// they report zero devices (the CUDA runtime's "no device" errors are not failures here).
#include <string>

namespace sdkd {

bool cuda_built();          // this build has the CUDA backend compiled in
int cuda_device_count();    // 0 without a usable GPU
std::string cuda_device_summary(int index);  // "NVIDIA H100 (sm_90, 79.6 GiB)"
// Why CUDA tests and --device cuda cannot run here, or "" when they can.
std::string cuda_unavailable_reason();

}  // namespace sdkd
