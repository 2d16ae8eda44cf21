#include "sdkd/models/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::models {

namespace {
std::string exact(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
}  // namespace

DataNormalization DataNormalization::z_score(double mean, double std, const std::string& what) {
  SDKD_CHECK(std::isfinite(mean) && std::isfinite(std), what, ": z-score statistics must be finite, got mean ",
             exact(mean), ", std ", exact(std));
  SDKD_CHECK(std > 0, what, ": the values are constant (std ", exact(std),
             "), so they cannot be z-scored; train with --normalize none");
  return {true, mean, std};
}

Tensor DataNormalization::to_model(const Tensor& x) const {
  if (!zscore) return x;
  return mul_scalar(add_scalar(x, -mean), 1.0 / std);
}

Tensor DataNormalization::to_data(const Tensor& y) const {
  if (!zscore) return y;
  return add_scalar(mul_scalar(y, std), mean);
}

std::string DataNormalization::to_metadata() const {
  // Written by hand, not by nlohmann's dump, so both numbers keep all 17 digits.
  if (!zscore) return R"({"kind":"none"})";
  return str_cat(R"({"kind":"zscore","mean":)", exact(mean), R"(,"std":)", exact(std), "}");
}

DataNormalization DataNormalization::from_metadata(const std::string& text, const std::string& where) {
  const std::string at = where + ": metadata " + kNormalizationKey;
  const nlohmann::json j = json_object(parse_json(text, at), at);
  const std::string kind = json_string(json_required(j, at, "kind"), at, "kind");
  if (kind == "none") return {};
  SDKD_CHECK(kind == "zscore", field_name(at, "kind"), " must be zscore or none, got '", kind, "'");
  const double mean = json_number(json_required(j, at, "mean"), at, "mean", kAnyFinite);
  const double std = json_number(json_required(j, at, "std"), at, "std", {0, /*lo_open=*/true});
  return z_score(mean, std, at);
}

bool DataNormalization::matches(const DataNormalization& o) const {
  if (zscore != o.zscore) return false;
  if (!zscore) return true;
  // Measured against the spread: a mean near 0 is all round-off.
  const double scale = std::max(std, o.std);
  return std::abs(mean - o.mean) <= 1e-9 * scale && std::abs(std - o.std) <= 1e-9 * scale;
}

std::string DataNormalization::describe() const {
  if (!zscore) return "none";
  char b[96];
  std::snprintf(b, sizeof b, "z-score (mean %.6g, std %.6g)", mean, std);
  return b;
}

}  // namespace sdkd::models
