#include "kernels/cpu/fft.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "kernels/cpu/fft_plan.hpp"
#include "kernels/cpu/parallel_policy.hpp"
#include "sdkd/error.hpp"

// How the 2-D real transform is built (both precisions, one template): the W-point transforms
// of the rows first, two real rows at a time as one complex signal, keeping the W/2+1
// non-redundant bins, then H-point complex transforms down the columns; the inverse runs the
// same steps backwards. The 1-D transforms are LaneFft plans (fft_plan.hpp): the row pairs, and
// then the columns, are the lanes of one SIMD loop. Small maps are transformed a group at a
// time (the lanes of all maps in the group side by side), so that 16x16 maps still give loops
// of 128 lanes. Plans and buffers live in a thread_local cache: after the first call of a shape
// on a thread nothing is allocated.

namespace sdkd::cpu {

double fft_scale(FftNorm norm, int64_t n, bool inverse) {
  switch (norm) {
    case FftNorm::backward: return inverse ? 1.0 / double(n) : 1.0;
    case FftNorm::ortho: return 1.0 / std::sqrt(double(n));
    case FftNorm::forward: return inverse ? 1.0 : 1.0 / double(n);
  }
  return 1.0;
}

namespace {

using fft_detail::LaneFft;

void check_shape(int64_t batch, int H, int W, const char* who) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 1, who, ": expected batch >= 0 and H, W >= 1, got batch ", batch, " H ",
             H, " W ", W);
}

// Maps are grouped until the row transforms have this many lanes (row pairs) ...
constexpr int kGroupLanes = 128;
// ... and while a group's planes stay within this many bytes (L2-resident) ...
constexpr size_t kGroupBytes = size_t(256) << 10;
// ... and the batch still makes this many groups, so that the threads get even shares (8 maps
// in 3 groups would leave one of 2 threads with twice the work of the other).
constexpr int64_t kMinGroups = 16;

// A function of (batch, H, W) only, so a batch is cut into the same groups whatever the thread
// count; and a lane's arithmetic does not depend on its group or its position in it.
template <typename T>
int64_t group_size(int64_t batch, int H, int W) {
  const int64_t P = (H + 1) / 2, Wc = W / 2 + 1;
  if (P >= kGroupLanes || batch <= 1) return 1;
  const size_t per_map = 2 * sizeof(T) * size_t(W * P + H * Wc);
  const int64_t by_bytes = std::max<int64_t>(1, int64_t(kGroupBytes / per_map));
  const int64_t by_groups = std::max<int64_t>(1, batch / kMinGroups);
  return std::min({(kGroupLanes + P - 1) / P, by_bytes, by_groups});
}

template <typename T>
struct Workspace {
  std::map<int, LaneFft<T>> plans;  // by length; nodes are stable, so references stay valid
  std::vector<T> zr, zi, yr, yi, scratch;
  std::vector<T> zeros, sink;  // the missing odd row of a map: read as zeros, written nowhere
  const LaneFft<T>& plan(int n) {
    auto it = plans.find(n);
    if (it == plans.end()) it = plans.emplace(n, LaneFft<T>(n)).first;
    return it->second;
  }
  void reserve(size_t row_values, size_t col_values, int W) {
    if (zr.size() < row_values) zr.resize(row_values), zi.resize(row_values);
    if (yr.size() < col_values) yr.resize(col_values), yi.resize(col_values);
    if (zeros.size() < size_t(W)) zeros.assign(size_t(W), T(0)), sink.resize(size_t(W));
  }
};

template <typename T>
Workspace<T>& workspace() {
  thread_local Workspace<T> ws;
  return ws;
}

// The passes between the natural layout and the lane layout are transposes; they go a tile of
// kTile lanes at a time so that the rows they touch stay in L1 (one row at a time would
// stride through a whole plane per row and miss on nearly every access at 256^2).
constexpr int kTile = 16;
// Samples per lane stored at a time from the lane layout to a tile's output rows (one cache
// line of doubles) by irfft2's last pass when those rows share L1 sets: a row pair a multiple
// of 4 KiB long (W = 256 in double, 512 in float) puts a tile's 16 even rows in one 12-way set
// (and its 16 odd rows in another), and the
// sample-at-a-time loop then misses on nearly every store (1 x 256^2 double: 0.40 -> 0.32 ms).
// Elsewhere that loop is 10-15 % faster than the blocked one, so it stays.
constexpr int kBlock = 8;
template <typename T>
constexpr bool rows_share_sets(int W) {
  return (2 * size_t(W) * sizeof(T)) % 4096 == 0;
}

// The lanes of a tile: lane l = g P + p is row pair p of map g.
struct Tile {
  int first = 0, count = 0;
  int g[kTile], p[kTile];
  Tile(int l0, int lanes, int P) : first(l0), count(std::min(kTile, lanes - l0)) {
    for (int i = 0; i < count; ++i) g[i] = (l0 + i) / P, p[i] = (l0 + i) % P;
  }
};

// G maps (G, H, W) -> (G, H, Wc). Row pair p of map g is lane g P + p of the row transforms;
// column k of map g is lane g Wc + k of the column transforms. P = ceil(H/2) pairs per map; an
// odd last row pairs with zeros.
template <typename T>
void rfft2_group(const T* x, std::complex<T>* X, int64_t G, int H, int W, T scale) {
  auto& ws = workspace<T>();
  const auto& rows = ws.plan(W);
  const auto& cols = ws.plan(H);
  const int P = (H + 1) / 2, Wc = W / 2 + 1;
  const int lr = int(G) * P, lc = int(G) * Wc;
  ws.reserve(size_t(W) * lr, size_t(H) * lc, W);
  T* zr = ws.zr.data();
  T* zi = ws.zi.data();
  T* yr = ws.yr.data();
  T* yi = ws.yi.data();
  for (int l0 = 0; l0 < lr; l0 += kTile) {
    const Tile t(l0, lr, P);
    const T* a[kTile];
    const T* b[kTile];
    for (int i = 0; i < t.count; ++i) {
      a[i] = x + (size_t(t.g[i]) * H + size_t(2 * t.p[i])) * W;
      b[i] = (2 * t.p[i] + 1 < H) ? a[i] + W : ws.zeros.data();
    }
    for (int j = 0; j < W; ++j) {
      T* dr = zr + size_t(rows.slot(j)) * lr + l0;
      T* di = zi + size_t(rows.slot(j)) * lr + l0;
      for (int i = 0; i < t.count; ++i) {
        dr[i] = a[i][j];
        di[i] = b[i][j];
      }
    }
  }
  rows.run(zr, zi, lr, false, ws.scratch);
  // Z[k] = A[k] + i B[k] with A, B Hermitian: A = (Z[k] + conj Z[-k]) / 2, B = (Z[k] - conj Z[-k]) / 2i.
  for (int l0 = 0; l0 < lr; l0 += kTile) {
    const Tile t(l0, lr, P);
    T *ar[kTile], *ai[kTile], *br[kTile], *bi[kTile];
    bool has_b[kTile];
    for (int i = 0; i < t.count; ++i) {
      const size_t col = size_t(t.g[i]) * Wc;
      ar[i] = yr + size_t(cols.slot(2 * t.p[i])) * lc + col;
      ai[i] = yi + size_t(cols.slot(2 * t.p[i])) * lc + col;
      has_b[i] = 2 * t.p[i] + 1 < H;
      br[i] = has_b[i] ? yr + size_t(cols.slot(2 * t.p[i] + 1)) * lc + col : nullptr;
      bi[i] = has_b[i] ? yi + size_t(cols.slot(2 * t.p[i] + 1)) * lc + col : nullptr;
    }
    for (int k = 0; k < Wc; ++k) {
      const int km = (W - k) % W;
      const T* pr = zr + size_t(k) * lr + l0;
      const T* pi = zi + size_t(k) * lr + l0;
      const T* qr = zr + size_t(km) * lr + l0;
      const T* qi = zi + size_t(km) * lr + l0;
      for (int i = 0; i < t.count; ++i) {
        const T zr_ = pr[i], zi_ = pi[i];
        const T mr = qr[i], mi = -qi[i];
        ar[i][k] = T(0.5) * (zr_ + mr);
        ai[i][k] = T(0.5) * (zi_ + mi);
        if (has_b[i]) {
          br[i][k] = T(0.5) * (zi_ - mi);
          bi[i][k] = T(-0.5) * (zr_ - mr);
        }
      }
    }
  }
  cols.run(yr, yi, lc, false, ws.scratch);
  for (int64_t g = 0; g < G; ++g)
    for (int r = 0; r < H; ++r) {
      std::complex<T>* out = X + (size_t(g) * H + r) * Wc;
      const T* sr = yr + size_t(r) * lc + size_t(g) * Wc;
      const T* si = yi + size_t(r) * lc + size_t(g) * Wc;
      for (int k = 0; k < Wc; ++k) out[k] = {scale * sr[k], scale * si[k]};
    }
}

template <typename T>
void irfft2_group(const std::complex<T>* X, T* x, int64_t G, int H, int W, T scale) {
  auto& ws = workspace<T>();
  const auto& rows = ws.plan(W);
  const auto& cols = ws.plan(H);
  const int P = (H + 1) / 2, Wc = W / 2 + 1;
  const int lr = int(G) * P, lc = int(G) * Wc;
  ws.reserve(size_t(W) * lr, size_t(H) * lc, W);
  T* zr = ws.zr.data();
  T* zi = ws.zi.data();
  T* yr = ws.yr.data();
  T* yi = ws.yi.data();
  for (int64_t g = 0; g < G; ++g)
    for (int r = 0; r < H; ++r) {
      const std::complex<T>* row = X + (size_t(g) * H + r) * Wc;
      T* dr = yr + size_t(cols.slot(r)) * lc + size_t(g) * Wc;
      T* di = yi + size_t(cols.slot(r)) * lc + size_t(g) * Wc;
      for (int k = 0; k < Wc; ++k) {
        dr[k] = row[k].real();
        di[k] = row[k].imag();
      }
    }
  cols.run(yr, yi, lc, true, ws.scratch);
  // The row transform is c2r: the imaginary parts of the self-conjugate bins do not exist.
  for (int r = 0; r < H; ++r)
    for (int64_t g = 0; g < G; ++g) {
      T* di = yi + size_t(r) * lc + size_t(g) * Wc;
      di[0] = T(0);
      if (W % 2 == 0) di[W / 2] = T(0);
    }
  for (int l0 = 0; l0 < lr; l0 += kTile) {
    const Tile t(l0, lr, P);
    const T *ar[kTile], *ai[kTile], *br[kTile], *bi[kTile];
    bool has_b[kTile];
    for (int i = 0; i < t.count; ++i) {
      const size_t col = size_t(t.g[i]) * Wc;
      ar[i] = yr + size_t(2 * t.p[i]) * lc + col;
      ai[i] = yi + size_t(2 * t.p[i]) * lc + col;
      has_b[i] = 2 * t.p[i] + 1 < H;
      br[i] = has_b[i] ? ar[i] + lc : nullptr;
      bi[i] = has_b[i] ? ai[i] + lc : nullptr;
    }
    for (int j = 0; j < W; ++j) {
      const bool mirrored = j >= Wc;
      const int k = mirrored ? W - j : j;
      const T conj_sign = mirrored ? T(-1) : T(1);
      T* dr = zr + size_t(rows.slot(j)) * lr + l0;
      T* di = zi + size_t(rows.slot(j)) * lr + l0;
      for (int i = 0; i < t.count; ++i) {
        const T a_r = ar[i][k], a_i = conj_sign * ai[i][k];
        T b_r = T(0), b_i = T(0);
        if (has_b[i]) {
          b_r = br[i][k];
          b_i = conj_sign * bi[i][k];
        }
        dr[i] = a_r - b_i;  // A + i B
        di[i] = a_i + b_r;
      }
    }
  }
  rows.run(zr, zi, lr, true, ws.scratch);
  for (int l0 = 0; l0 < lr; l0 += kTile) {
    const Tile t(l0, lr, P);
    T* a[kTile];
    T* b[kTile];
    for (int i = 0; i < t.count; ++i) {
      a[i] = x + (size_t(t.g[i]) * H + size_t(2 * t.p[i])) * W;
      b[i] = (2 * t.p[i] + 1 < H) ? a[i] + W : ws.sink.data();
    }
    if (!rows_share_sets<T>(W)) {
      for (int j = 0; j < W; ++j) {
        const T* sr = zr + size_t(j) * lr + l0;
        const T* si = zi + size_t(j) * lr + l0;
        for (int i = 0; i < t.count; ++i) {
          a[i][j] = scale * sr[i];
          b[i][j] = scale * si[i];
        }
      }
      continue;
    }
    // The tile's output rows all map to the same L1 sets: kBlock samples of every lane at a
    // time through a small transpose buffer, so that each row gets a whole cache line at once.
    T ta[kBlock][kTile], tb[kBlock][kTile];
    for (int j0 = 0; j0 < W; j0 += kBlock) {
      const int nj = std::min(kBlock, W - j0);
      for (int jj = 0; jj < nj; ++jj) {
        const T* sr = zr + size_t(j0 + jj) * lr + l0;
        const T* si = zi + size_t(j0 + jj) * lr + l0;
        for (int i = 0; i < kTile; ++i) {
          ta[jj][i] = scale * sr[i < t.count ? i : 0];
          tb[jj][i] = scale * si[i < t.count ? i : 0];
        }
      }
      for (int i = 0; i < t.count; ++i)
        for (int jj = 0; jj < nj; ++jj) {
          a[i][j0 + jj] = ta[jj][i];
          b[i][j0 + jj] = tb[jj][i];
        }
    }
  }
}

// A batch of 2D real FFTs: about 2.5 H W log2(H W) operations per map.
double fft2_flops(int64_t batch, int H, int W) {
  const double n = double(H) * double(W);
  return double(batch) * 2.5 * n * std::log2(std::max(n, 2.0));
}

// Groups of G maps, split over threads unless the caller is already in a parallel region.
template <typename T, typename Group>
void over_groups(int64_t batch, int H, int W, Group group) {
  const int64_t G = group_size<T>(batch, H, W), groups = (batch + G - 1) / G;
#pragma omp parallel for schedule(static) if (groups > 1 && threads_pay_flops(fft2_flops(batch, H, W)))
  for (int64_t i = 0; i < groups; ++i) group(i * G, std::min(G, batch - i * G));
}

template <typename T>
void rfft2_any(const T* x, std::complex<T>* X, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "rfft2");
  const T scale = T(fft_scale(norm, int64_t(H) * W, false));
  const int64_t in_stride = int64_t(H) * W, out_stride = int64_t(H) * (W / 2 + 1);
  over_groups<T>(batch, H, W, [&](int64_t first, int64_t G) {
    rfft2_group(x + first * in_stride, X + first * out_stride, G, H, W, scale);
  });
}

template <typename T>
void irfft2_any(const std::complex<T>* X, T* x, int64_t batch, int H, int W, FftNorm norm) {
  check_shape(batch, H, W, "irfft2");
  const T scale = T(fft_scale(norm, int64_t(H) * W, true));
  const int64_t in_stride = int64_t(H) * W, out_stride = int64_t(H) * (W / 2 + 1);
  over_groups<T>(batch, H, W, [&](int64_t first, int64_t G) {
    irfft2_group(X + first * out_stride, x + first * in_stride, G, H, W, scale);
  });
}

}  // namespace

void rfft2(const float* x, std::complex<float>* X, int64_t batch, int H, int W, FftNorm norm) {
  rfft2_any(x, X, batch, H, W, norm);
}

void rfft2(const double* x, std::complex<double>* X, int64_t batch, int H, int W, FftNorm norm) {
  rfft2_any(x, X, batch, H, W, norm);
}

void irfft2(const std::complex<float>* X, float* x, int64_t batch, int H, int W, FftNorm norm) {
  irfft2_any(X, x, batch, H, W, norm);
}

void irfft2(const std::complex<double>* X, double* x, int64_t batch, int H, int W, FftNorm norm) {
  irfft2_any(X, x, batch, H, W, norm);
}

}  // namespace sdkd::cpu
