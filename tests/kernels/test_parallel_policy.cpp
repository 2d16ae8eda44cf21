// When a CPU loop forks (kernels/cpu/parallel_policy.hpp): the region cost follows the
// environment's wait policy, and the gate refuses inside a region, on one thread and below
// kRegionsOfWork region costs.
#include <omp.h>

#include <catch2/catch.hpp>

#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

using namespace sdkd::cpu;

TEST_CASE("the parallel region cost follows OMP_WAIT_POLICY, GOMP_SPINCOUNT and SDKD_PARALLEL_REGION_US", "[parallel]") {
  CHECK(region_cost_from(nullptr, nullptr, nullptr).ns == 1e3);
  CHECK(region_cost_from(nullptr, "active", nullptr).ns == 1e3);
  CHECK(region_cost_from(nullptr, "passive", nullptr).ns == 40e3);
  CHECK(region_cost_from(nullptr, "PASSIVE", nullptr).why == "OMP_WAIT_POLICY=passive");
  CHECK(region_cost_from(nullptr, nullptr, "0").ns == 40e3);
  CHECK(region_cost_from(nullptr, nullptr, "300000").ns == 1e3);
  // The override wins over the policy, an empty value is unset.
  CHECK(region_cost_from("2.5", "passive", nullptr).ns == 2.5e3);
  CHECK(region_cost_from("0", "passive", nullptr).why == "SDKD_PARALLEL_REGION_US");
  CHECK(region_cost_from("", "passive", nullptr).ns == 40e3);
  for (const char* bad : {"x", "-1", "5us", "1e12", " "})
    CHECK_THROWS_WITH(region_cost_from(bad, nullptr, nullptr),
                      Catch::Contains("SDKD_PARALLEL_REGION_US") && Catch::Contains(std::string("got '") + bad + "'"));
}

TEST_CASE("threads_pay_ns forks only with several threads, outside a region, for several region costs of work",
          "[parallel]") {
  const double region = parallel_region_ns(), enough = kRegionsOfWork * region;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  CHECK(threads_pay_ns(enough));
  CHECK_FALSE(threads_pay_ns(0.99 * enough));
  CHECK(threads_pay_bytes(enough * kStreamBytesPerNs));
  CHECK_FALSE(threads_pay_flops(0.5 * enough * kFlopsPerNs));
  int inside = -1;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    inside = threads_pay_ns(1e12) ? 1 : 0;
  }
  CHECK(inside == 0);
  omp_set_num_threads(1);
  CHECK_FALSE(threads_pay_ns(1e12));
  omp_set_num_threads(saved);
}
