#include "sdkd/datasets/split.hpp"

#include <algorithm>
#include <cmath>

#include "sdkd/error.hpp"
#include "sdkd/rng.hpp"

namespace sdkd::data {

std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    // Uniform integer in [0, i] from 32 random bits; the bias for i < 2^20 is negligible.
    const auto bits = Philox::block(uint64_t(i), stream, seed)[0];
    const int64_t j = int64_t((uint64_t(bits) * uint64_t(i + 1)) >> 32);
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

Split split_indices(int64_t n, uint64_t seed, double train_frac, double val_frac) {
  SDKD_CHECK(n >= 3, "need at least 3 trajectories to split into train/val/test, got ", n);
  SDKD_CHECK(train_frac > 0 && val_frac > 0 && train_frac + val_frac < 1,
             "split fractions must be positive and sum below 1, got train ", train_frac, " val ", val_frac);
  const auto p = permutation(n, seed, /*stream=*/0x5A117);
  int64_t n_train = int64_t(std::llround(double(n) * train_frac));
  int64_t n_val = int64_t(std::llround(double(n) * val_frac));
  n_train = std::clamp<int64_t>(n_train, 1, n - 2);
  n_val = std::clamp<int64_t>(n_val, 1, n - n_train - 1);
  Split s;
  s.train.assign(p.begin(), p.begin() + n_train);
  s.val.assign(p.begin() + n_train, p.begin() + n_train + n_val);
  s.test.assign(p.begin() + n_train + n_val, p.end());
  return s;
}

}  // namespace sdkd::data
