#pragma once
// Global z-score normalisation a model carries with it: it trains and predicts on
// (x - mean) / std, with mean and std of the training split's values (one pair for the whole
// array, as OpenSTL's data_mean/data_std), and Forecaster::predict maps its output back with
// y * std + mean, so every metric stays in the data's units. The pair is stored in the
// checkpoints' metadata ("normalization") and read back with the model: a checkpoint scores and
// distills on raw data with no flag to remember. Off by default (the identity, no op at all).
#include <string>

#include "sdkd/tensor.hpp"

namespace sdkd::models {

// The metadata key of the checkpoints (best.safetensors and last.safetensors).
constexpr const char* kNormalizationKey = "normalization";

struct DataNormalization {
  bool zscore = false;
  double mean = 0, std = 1;

  // Finite mean, finite std > 0; `what` names the data in the error (a constant training
  // split has std 0 and cannot be z-scored).
  static DataNormalization z_score(double mean, double std, const std::string& what);

  // (x - mean) / std and its inverse, on x's device; the identity returns x itself.
  Tensor to_model(const Tensor& x) const;
  Tensor to_data(const Tensor& y) const;

  // {"kind":"zscore","mean":...,"std":...} with every digit; from_metadata checks the kind and
  // both numbers, errors naming `where` (the checkpoint).
  std::string to_metadata() const;
  static DataNormalization from_metadata(const std::string& text, const std::string& where);

  // "z-score (mean 0.01234, std 0.5678)" or "none", for messages.
  std::string describe() const;
  // The same normalisation up to summation round-off (1e-9 relative): statistics of one
  // training split, summed by another loader or thread count, still match.
  bool matches(const DataNormalization& o) const;
};

}  // namespace sdkd::models
