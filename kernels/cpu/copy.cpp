#include "kernels/cpu/copy.hpp"
#include "kernels/cpu/parallel_policy.hpp"

#include <omp.h>

#include <algorithm>

namespace sdkd::cpu {
namespace {

constexpr int64_t kTile = 32;  // a 32 x 32 tile of floats is 4 KiB each way

struct View {
  std::vector<int64_t> shape, strides;  // merged, size-1 dims dropped, at least one dim
};

// Drops size-1 dims and merges d into d + 1 where d steps over exactly one run of d + 1.
View merged(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  View v;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!v.shape.empty() && v.strides.back() == strides[d] * shape[d]) {
      v.shape.back() *= shape[d];
      v.strides.back() = strides[d];
    } else {
      v.shape.push_back(shape[d]);
      v.strides.push_back(strides[d]);
    }
  }
  if (v.shape.empty()) v.shape = {1}, v.strides = {1};
  return v;
}

// Source offset of the first element of `index`, which counts over every dim but the last
// `trailing` ones (a row for 1, a plane for 2).
int64_t outer_offset(const View& v, int64_t index, int trailing) {
  int64_t off = 0;
  for (int64_t d = int64_t(v.shape.size()) - 1 - trailing; d >= 0; --d) {
    off += (index % v.shape[size_t(d)]) * v.strides[size_t(d)];
    index /= v.shape[size_t(d)];
  }
  return off;
}

// (element counts: a copy reads and writes at least 4 bytes per element)
bool threads_pay(int64_t n) { return n > 32768 && threads_pay_bytes(8.0 * double(n)); }

template <class S, class D>
void copy_rows(const S* src, const View& v, D* dst) {
  const int64_t W = v.shape.back(), ws = v.strides.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < v.shape.size(); ++d) rows *= v.shape[d];
#pragma omp parallel for schedule(static) if (threads_pay(rows * W))
  for (int64_t r = 0; r < rows; ++r) {
    const S* s = src + outer_offset(v, r, 1);
    D* o = dst + r * W;
    if (ws == 1) {
#pragma omp simd
      for (int64_t j = 0; j < W; ++j) o[j] = D(s[j]);
    } else {
      for (int64_t j = 0; j < W; ++j) o[j] = D(s[j * ws]);
    }
  }
}

// Rows too short to pay for their offset (pixel shuffle's innermost dim of 2): the last two
// dims copied as one block per offset computation.
template <class S, class D>
void copy_blocks(const S* src, const View& v, D* dst) {
  const size_t nd = v.shape.size();
  const int64_t H = v.shape[nd - 2], W = v.shape[nd - 1], hs = v.strides[nd - 2], ws = v.strides[nd - 1];
  int64_t blocks = 1;
  for (size_t d = 0; d + 2 < nd; ++d) blocks *= v.shape[d];
#pragma omp parallel for schedule(static) if (threads_pay(blocks * H * W))
  for (int64_t b = 0; b < blocks; ++b) {
    const S* s = src + outer_offset(v, b, 2);
    D* o = dst + b * H * W;
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) o[i * W + j] = D(s[i * hs + j * ws]);
  }
}

// The last two merged dims (H, W) with source strides (1 ... , ws != 1) and (hs == 1): a
// transpose within each plane, in tiles.
template <class S, class D>
void copy_transposed(const S* src, const View& v, D* dst) {
  const size_t nd = v.shape.size();
  const int64_t H = v.shape[nd - 2], W = v.shape[nd - 1], hs = v.strides[nd - 2], ws = v.strides[nd - 1];
  int64_t planes = 1;
  for (size_t d = 0; d + 2 < nd; ++d) planes *= v.shape[d];
  const int64_t th = (H + kTile - 1) / kTile, tw = (W + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (threads_pay(planes * H * W))
  for (int64_t t = 0; t < planes * th * tw; ++t) {
    const int64_t p = t / (th * tw), i0 = t / tw % th * kTile, j0 = t % tw * kTile;
    const S* s = src + outer_offset(v, p, 2);
    D* o = dst + p * H * W;
    const int64_t i1 = std::min(H, i0 + kTile), j1 = std::min(W, j0 + kTile);
    // Read along the source's unit stride (i), write columns of the tile.
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t i = i0; i < i1; ++i) o[i * W + j] = D(s[i * hs + j * ws]);
  }
}

}  // namespace

template <class S, class D>
void copy_strided(const S* src, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, D* dst) {
  for (int64_t n : shape)
    if (n == 0) return;
  const View v = merged(shape, strides);
  const size_t nd = v.shape.size();
  if (nd >= 2 && v.strides[nd - 1] != 1 && v.strides[nd - 2] == 1 && v.shape[nd - 1] >= 4 && v.shape[nd - 2] >= 4)
    copy_transposed(src, v, dst);
  else if (nd >= 2 && v.shape[nd - 1] < 16)
    copy_blocks(src, v, dst);
  else
    copy_rows(src, v, dst);
}

#define SDKD_COPY(S, D) template void copy_strided<S, D>(const S*, const std::vector<int64_t>&, const std::vector<int64_t>&, D*);
#define SDKD_COPY_FROM(S) SDKD_COPY(S, float) SDKD_COPY(S, double) SDKD_COPY(S, int32_t)
SDKD_COPY_FROM(float)
SDKD_COPY_FROM(double)
SDKD_COPY_FROM(int32_t)
#undef SDKD_COPY_FROM
#undef SDKD_COPY

}  // namespace sdkd::cpu
