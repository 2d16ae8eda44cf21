#pragma once
// Differentiable real 2-D FFT over the last two axes, orthonormal (numpy's norm="ortho").
// A complex spectrum is stored as a real tensor with a trailing axis of 2 holding (re, im).
//
// Gradients use the real inner product on (re, im) pairs. The half spectrum keeps columns
// 0..W/2 of the full one; columns 1..(W-1)/2 also stand for their conjugate mirrors W-l,
// while the DC column (and, for even W, the Nyquist column) stand for themselves. Hence
//   rfft2^T(Y) = irfft2(Y / w, W)    and    irfft2^T(y) = w * rfft2(y),
// with w the column weights below; the backward passes are exactly these expressions.
#include <cstdint>
#include <vector>

#include "sdkd/tensor.hpp"

namespace sdkd {

// numpy's `norm`: ortho divides both directions by sqrt(HW) (the default here, and the one
// the losses use); backward leaves the forward transform unscaled and divides the inverse by
// HW; forward divides the forward transform by HW and leaves the inverse unscaled. Every norm
// is differentiable: a transform under another norm is the orthonormal one times a constant.
enum class FftNorm { backward, ortho, forward };

// Real x (..., H, W) -> X (..., H, W/2+1, 2) with (ortho)
// X[k, l] = sum_{m,n} x[m, n] exp(-2 pi i (k m / H + l n / W)) / sqrt(H W).
Tensor rfft2(const Tensor& x, FftNorm norm = FftNorm::ortho);

// The inverse of rfft2 for a signal of width W: X (..., H, W/2+1, 2) -> real (..., H, W).
// As numpy's irfft2, X is read as half of a Hermitian spectrum: after the transform down the
// columns, the imaginary parts of the DC column (and the Nyquist column for even W) are ignored.
Tensor irfft2(const Tensor& X, int64_t W, FftNorm norm = FftNorm::ortho);

// Weight of each of the W/2+1 half-spectrum columns: 1 for the DC column and (even W) the
// Nyquist column, 2 for the others. Parseval: sum |x|^2 = sum_{k,l} w_l |X[k, l]|^2.
std::vector<double> rfft2_column_weights(int64_t W);

}  // namespace sdkd
