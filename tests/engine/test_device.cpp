#include <catch2/catch.hpp>

#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;

TEST_CASE("device queries agree with each other", "[device]") {
  const int n = cuda_device_count();
  CHECK(n >= 0);
  CHECK(cuda_unavailable_reason().empty() == (cuda_built() && n > 0));
  CHECK_THROWS_AS(cuda_device_summary(n), Error);  // one past the last device
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("expected cpu, cuda or cuda:N"));
  CHECK(parse_device("cuda:1").index == 1);
}

TEST_CASE("CUDA device properties are readable", "[device][cuda]") {
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  const std::string s = cuda_device_summary(0);
  CHECK(s.find("sm_") != std::string::npos);
}
