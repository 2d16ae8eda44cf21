#pragma once
// A 1-D complex FFT plan of any length n >= 1 in the "lane" layout the 2-D real transform uses:
// the data are split into a real and an imaginary plane, and `lanes` independent signals lie
// side by side (element j of lane l at j * lanes + l), so every butterfly is one contiguous,
// vectorisable loop over the lanes and the twiddles are scalars broadcast across it.
//
// The transform is in place, decimation in time: the caller stores input element j at
// slot(j) (a digit reversal; callers scatter their data straight into it, so the permutation
// costs no pass of its own) and gets the output in natural order.
//   n = 2^a 3^b 5^c 7^d 11^e 13^f: radix-2/radix-4 stages for the power of two (one radix-2
//     stage when a is odd, then fused pairs of radix-2 stages), then one stage per odd prime
//     factor, with butterflies specialised at compile time for 3, 5, 7, 11 and 13;
//   n with a prime factor above 13: Bluestein's chirp-z through a power-of-two transform of
//     M >= 2n - 1 points (slot(j) = j).
// Twiddles are computed in double and rounded once to T. For powers of two the double
// arithmetic is the one the original radix-2/4 code did (the Navier-Stokes data depend on it).
// A plan is immutable after construction; run() is deterministic and thread-safe given
// per-thread scratch, which it only grows.
#include <memory>
#include <vector>

#include "kernels/internal.hpp"

namespace sdkd::cpu::fft_detail {

template <typename T>
class Bluestein;

template <typename T>
class LaneFft {
 public:
  explicit LaneFft(int n);
  ~LaneFft();
  LaneFft(LaneFft&&) noexcept;
  LaneFft(const LaneFft&) = delete;
  LaneFft& operator=(const LaneFft&) = delete;

  int size() const { return n_; }
  // Where input element j must be stored before run().
  int slot(int j) const { return slot_[size_t(j)]; }

  // In place on data stored in slot() order, output in natural order; e^{-i...} forward,
  // e^{+i...} inverse, no normalisation. `scratch` is used by Bluestein plans only.
  void run(T* re, T* im, int lanes, bool inverse, std::vector<T>& scratch) const;

 private:
  void mixed_radix(T* re, T* im, int lanes, bool inverse) const;

  int n_;
  int pow2_ = 1;         // the power-of-two part 2^a of n
  int log2_pow2_ = 0;    // a
  std::vector<int> odd_radices_;  // the odd prime factors, one stage each, in stage order
  std::vector<T> cos_, sin_;      // cos, sin(2 pi m / n), m < n
  std::vector<int> slot_;
  std::unique_ptr<const Bluestein<T>> bluestein_;
};

extern template class LaneFft<float>;
extern template class LaneFft<double>;

}  // namespace sdkd::cpu::fft_detail
