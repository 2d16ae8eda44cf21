#pragma once
// Bluestein's chirp-z transform: an n-point DFT of any n as a circular convolution of
// M >= 2n - 1 points (a power of two) done with LaneFft. With b_j = e^{-i pi j^2 / n},
// jk = (j^2 + k^2 - (k - j)^2) / 2 gives X_k = b_k sum_j (x_j b_j) conj(b_{k-j}): chirp the
// input, convolve with conj(b) (its M-point spectrum precomputed, 1/M folded in), chirp the
// output. The inverse is conj(forward(conj x)). Tables are computed in double, rounded once.
// Used by LaneFft for lengths with a prime factor it has no butterfly for (fft_plan.hpp).
#include <vector>

#include "kernels/cpu/fft_plan.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu::fft_detail {

template <typename T>
class Bluestein {
 public:
  explicit Bluestein(int n);

  // The n-point transform of natural-order data in place over `lanes` lanes (LaneFft::run);
  // scratch grows to 4 M lanes values.
  void run(T* re, T* im, int lanes, bool inverse, std::vector<T>& scratch) const;

 private:
  int n_, m_;
  LaneFft<T> inner_;                      // M points, a power of two
  std::vector<T> chirp_re_, chirp_im_;    // b_j, j < n
  std::vector<T> kernel_re_, kernel_im_;  // M-point DFT of conj(b) wrapped around, over M
};

extern template class Bluestein<float>;
extern template class Bluestein<double>;

}  // namespace sdkd::cpu::fft_detail
