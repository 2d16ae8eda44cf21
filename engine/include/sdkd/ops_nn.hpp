#pragma once
// Functional ops for the network blocks: softmax, fused multi-head attention, stochastic
// depth and the resampling ops of the decoders. All are differentiable; float32 and float64.
#include <cstdint>

#include "sdkd/rng.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd {

// Numerically stable softmax along `dim` (negative counts from the end).
Tensor softmax(const Tensor& x, int64_t dim = -1);

// softmax(q k^T / sqrt(d)) v for q (B, heads, N, d), k and v (B, heads, M, d); returns
// (B, heads, N, d). One fused kernel (FlashAttention-style online softmax): memory is O(N)
// beyond the inputs, never the N x M score matrix. Deterministic for any thread count.
Tensor multi_head_attention(const Tensor& q, const Tensor& k, const Tensor& v);

// Stochastic depth: zeroes each sample (index along dim 0) with probability p and scales the
// kept ones by 1/(1-p). Sample b keeps iff uniform(gen.seed, stream 3, gen.offset + b) > p, so
// the draw is thread-count free (like dropout, which uses stream 2). Identity when !training.
Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen);

// (N, C*r*r, H, W) -> (N, C, H*r, W*r), PyTorch's channel order:
// out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w].
Tensor pixel_shuffle(const Tensor& x, int r);

// Bilinear resize of (N, C, H, W) to (N, C, out_h, out_w), align_corners = false as in
// PyTorch: source coordinate (dst + 0.5) * in/out - 0.5, clamped below at 0.
Tensor upsample_bilinear2d(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace sdkd
