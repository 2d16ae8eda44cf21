#pragma once
// Seeded train/validation/test split of trajectory indices (SPEC §1: 80/10/10, fixed seed).
#include <cstdint>
#include <vector>

namespace sdkd::data {

struct Split {
  std::vector<int64_t> train, val, test;
};

// Permutes 0..n-1 with a Philox-driven Fisher-Yates shuffle and cuts it by the fractions;
// the same (n, seed) always gives the same split. Every part gets at least one index when
// n >= 3.
Split split_indices(int64_t n, uint64_t seed, double train_frac = 0.8, double val_frac = 0.1);

// A permutation of 0..n-1 drawn from (seed, stream): used for shuffling batches per epoch.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint64_t stream);

}  // namespace sdkd::data
