#pragma once
// Shared by the model tests (defined in test_teachers.cpp). The toy configs they check are in
// tests/common/toy.hpp.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sdkd/models/forecaster.hpp"

namespace sdkd::model_checks {
// Builds `cfg` from Generator(1), runs a standard normal batch of `batch` inputs shaped as the
// config says, drawn from Generator(2), and CHECKs the prediction's shape against `pred` and each
// named feature tap's against its shape (all taps REQUIREd present first). Returns the model,
// so that a test goes on to count its parameters.
std::shared_ptr<models::Forecaster> check_forward_shapes(const models::ModelConfig& cfg, int64_t batch,
                                                         const Shape& pred,
                                                         const std::vector<std::pair<std::string, Shape>>& taps);

// Backward once, then for each named weight compare the directional derivative along a random
// direction with a float64 central difference of the MSE loss. CHECKs each weight (naming it)
// and returns true when all agreed, so a test body asserts CHECK(check_directional_derivatives(...)).
bool check_directional_derivatives(models::Forecaster& m, const Tensor& x, const Tensor& y,
                                   const std::vector<std::string>& names, Generator& gen);
}  // namespace sdkd::model_checks
