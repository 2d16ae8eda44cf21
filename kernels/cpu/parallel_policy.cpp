#include "kernels/cpu/parallel_policy.hpp"

#include <omp.h>
#include <strings.h>

#include <cstdlib>
#include <string>

#include "sdkd/error.hpp"

namespace sdkd::cpu {

RegionCost region_cost_from(const char* region_us, const char* wait_policy, const char* spin_count) {
  if (region_us != nullptr && *region_us != '\0') {
    char* end = nullptr;
    const double us = std::strtod(region_us, &end);
    SDKD_CHECK(end != region_us && *end == '\0' && us >= 0 && us < 1e9,
               "SDKD_PARALLEL_REGION_US: expected the cost of an OpenMP parallel region in microseconds (a number "
               ">= 0), got '", region_us, "'");
    return {us * 1e3, "SDKD_PARALLEL_REGION_US"};
  }
  if (wait_policy != nullptr && strcasecmp(wait_policy, "passive") == 0) return {40e3, "OMP_WAIT_POLICY=passive"};
  if (spin_count != nullptr && std::string(spin_count) == "0") return {40e3, "GOMP_SPINCOUNT=0"};
  return {1e3, "spinning threads"};
}

const RegionCost& parallel_region_cost() {
  static const RegionCost cost = region_cost_from(std::getenv("SDKD_PARALLEL_REGION_US"), std::getenv("OMP_WAIT_POLICY"),
                                                  std::getenv("GOMP_SPINCOUNT"));
  return cost;
}

bool threads_pay_ns(double serial_ns) {
  return !omp_in_parallel() && omp_get_max_threads() > 1 && serial_ns >= kRegionsOfWork * parallel_region_ns();
}

}  // namespace sdkd::cpu
