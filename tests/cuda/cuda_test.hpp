#pragma once
// Moved to tests/common/fixtures.hpp (the shared test helpers: SDKD_CUDA_OR_SKIP, cpu_randn,
// leaf_pair, tolerance_ratio, CHECK_CLOSE, ...).
#include "common/fixtures.hpp"
