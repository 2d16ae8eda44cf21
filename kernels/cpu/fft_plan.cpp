#include "kernels/cpu/fft_plan.hpp"

#include <cmath>

#include "kernels/cpu/fft_bluestein.hpp"
#include "kernels/cpu/fft_radix.hpp"
#include "sdkd/error.hpp"

namespace sdkd::cpu::fft_detail {

namespace {

// The odd primes with a compiled butterfly; a length with any other odd prime factor goes
// through Bluestein. An R-point butterfly holds its 2R values and R/2 sums per lane vector in
// registers (32 with AVX-512) and costs ~R^2/2 multiply-adds per point pair: 13 is about where
// both run out.
constexpr int kOddRadices[] = {3, 5, 7, 11, 13};

template <typename T>
void odd_stage_dispatch(int radix, T* re, T* im, int lanes, bool inverse, int m, int n, const T* c, const T* s) {
  switch (radix) {
    case 3: return odd_stage<T, 3>(re, im, lanes, inverse, m, n, c, s);
    case 5: return odd_stage<T, 5>(re, im, lanes, inverse, m, n, c, s);
    case 7: return odd_stage<T, 7>(re, im, lanes, inverse, m, n, c, s);
    case 11: return odd_stage<T, 11>(re, im, lanes, inverse, m, n, c, s);
    case 13: return odd_stage<T, 13>(re, im, lanes, inverse, m, n, c, s);
    default: SDKD_CHECK(false, "LaneFft: no butterfly for radix ", radix);
  }
}

}  // namespace

template <typename T>
LaneFft<T>::LaneFft(int n) : n_(n) {
  SDKD_CHECK(n >= 1 && n <= (1 << 26), "LaneFft: length must be in [1, 2^26], got ", n);
  int rest = n;
  while (rest % 2 == 0) {
    rest /= 2;
    pow2_ *= 2;
    ++log2_pow2_;
  }
  for (int p : kOddRadices)
    while (rest % p == 0) {
      rest /= p;
      odd_radices_.push_back(p);
    }
  slot_.resize(size_t(n));
  if (rest != 1) {
    odd_radices_.clear();
    bluestein_ = std::make_unique<const Bluestein<T>>(n);
    for (int j = 0; j < n; ++j) slot_[size_t(j)] = j;
    return;
  }
  // Twiddles in double (the same expression as the original double code), rounded once.
  cos_.resize(size_t(n));
  sin_.resize(size_t(n));
  for (int m = 0; m < n; ++m) {
    const double theta = 2.0 * M_PI * double(m) / double(n);
    cos_[size_t(m)] = T(std::cos(theta));
    sin_[size_t(m)] = T(std::sin(theta));
  }
  // Decimation in time with stage radices r_1 (first, on adjacent points) .. r_s (last): the
  // last stage combines r_s interleaved sub-transforms of n / r_s points, sub-transform q
  // holding the inputs j = q mod r_s, stored contiguously at q n / r_s; recursively, the slot
  // of j is its digits in the mixed radix, reversed. For a power of two: the bit reversal.
  std::vector<int> radices(size_t(log2_pow2_), 2);
  radices.insert(radices.end(), odd_radices_.begin(), odd_radices_.end());
  for (int j = 0; j < n; ++j) {
    int pos = 0, size = n, rem = j;
    for (size_t t = radices.size(); t-- > 0;) {
      size /= radices[t];
      pos += (rem % radices[t]) * size;
      rem /= radices[t];
    }
    slot_[size_t(j)] = pos;
  }
}

template <typename T>
LaneFft<T>::~LaneFft() = default;

template <typename T>
LaneFft<T>::LaneFft(LaneFft&&) noexcept = default;

template <typename T>
void LaneFft<T>::run(T* re, T* im, int lanes, bool inverse, std::vector<T>& scratch) const {
  if (bluestein_) bluestein_->run(re, im, lanes, inverse, scratch);
  else mixed_radix(re, im, lanes, inverse);
}

template <typename T>
void LaneFft<T>::mixed_radix(T* re, T* im, int lanes, bool inverse) const {
  // The power of two first: one radix-2 stage when log2 of it is odd, then fused pairs of
  // radix-2 stages (radix 4), half as many passes over the data as plain radix 2.
  int h = 1;
  if ((log2_pow2_ & 1) != 0) {
    radix2_stage(re, im, lanes, n_);
    h = 2;
  }
  for (; 4 * h <= pow2_; h *= 4) radix4_stage(re, im, lanes, inverse, h, n_, cos_.data(), sin_.data());
  int m = pow2_;
  for (int r : odd_radices_) {
    odd_stage_dispatch(r, re, im, lanes, inverse, m, n_, cos_.data(), sin_.data());
    m *= r;
  }
}

template class LaneFft<float>;
template class LaneFft<double>;

}  // namespace sdkd::cpu::fft_detail
