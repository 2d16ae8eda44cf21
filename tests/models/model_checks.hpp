#pragma once
// Shared by the model tests (defined in test_teachers.cpp).
#include <string>
#include <vector>

#include "models/forecaster.hpp"

namespace sdkd::model_checks {
// Backward once, then for each named weight compare the directional derivative along a random
// direction with a float64 central difference of the MSE loss. CHECKs each weight (naming it)
// and returns true when all agreed, so a test body asserts CHECK(check_directional_derivatives(...)).
bool check_directional_derivatives(models::Forecaster& m, const Tensor& x, const Tensor& y,
                                   const std::vector<std::string>& names, Generator& gen);
}  // namespace sdkd::model_checks
