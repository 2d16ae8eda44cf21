#include "sdkd/device.hpp"

#include "sdkd/error.hpp"

#ifdef SDKD_WITH_CUDA
namespace sdkd::cuda_rt {
int device_count();
std::string device_summary(int index);
}  // namespace sdkd::cuda_rt
#endif

namespace sdkd {

#ifdef SDKD_WITH_CUDA
bool cuda_built() { return true; }
int cuda_device_count() { return cuda_rt::device_count(); }
std::string cuda_device_summary(int index) {
  SDKD_CHECK(index >= 0 && index < cuda_device_count(), "no CUDA device ", index, " (", cuda_device_count(),
             " available)");
  return cuda_rt::device_summary(index);
}
#else
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_summary(int index) {
  throw Error(str_cat("no CUDA device ", index, ": this build has no CUDA backend (configure with -DSDKD_CUDA=ON)"));
}
#endif

std::string cuda_unavailable_reason() {
  if (!cuda_built()) return "this build has no CUDA backend (nvcc not found or SDKD_CUDA=OFF)";
  if (cuda_device_count() == 0) return "no CUDA device visible to this process";
  return "";
}

}  // namespace sdkd
