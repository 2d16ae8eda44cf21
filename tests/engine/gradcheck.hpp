#pragma once
// Moved to tests/common/fixtures.hpp (the shared test helpers: randn64, gradcheck, ...).
#include "common/fixtures.hpp"
