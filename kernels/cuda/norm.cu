// Normalisation kernels (CUDA twins of kernels/cpu/norm.cpp).
//
// BatchNorm and GroupNorm share one shape of work. The input is P = N * C "planes" of HW
// contiguous values; a statistic covers a "set" of planes (BatchNorm: the N planes of one
// channel, GroupNorm: the C / G adjacent planes of one (n, g)). Every pass is then:
//   stage 1  per-(plane, chunk) partial sums, one block each (HW split into S chunks so that a
//            large plane still spreads over many blocks);
//   stage 2  one thread per set (or per channel) merges its partials in a fixed order;
//   stage 3  an elementwise pass over the planes with the per-set constants.
// LayerNorm has one statistic per row and reduces a row inside one warp (or one block).
// See norm.hpp for the accuracy / determinism choice (double partial sums, no atomics).
#include "kernels/cuda/norm.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "sdkd/error.hpp"

namespace sdkd::gpu {
namespace {

// ---------------------------------------------------------------- shared pieces

// Count, mean and sum of squared deviations; merges exactly (Chan, Golub & LeVeque), as the
// CPU twin does, so per-plane statistics combine without the E[x^2] - E[x]^2 cancellation.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
  __device__ void merge(double n_o, double mean_o, double m2_o) {
    if (n_o == 0) return;
    const double n = count + n_o;
    const double delta = mean_o - mean;
    mean += delta * (n_o / n);
    m2 += m2_o + delta * delta * (count * n_o / n);
    count = n;
  }
};

// Chunks per plane for stage 1: at least ~2048 values per block, at most 32 blocks per plane.
// Depends on HW only, so the summation order (and the result) never depends on the device.
int64_t chunks_for(int64_t HW) { return std::clamp<int64_t>(HW / 2048, 1, 32); }

// Threads for a loop over `len` values: a multiple of 32 in [32, 256].
int threads_for(int64_t len) { return int(std::clamp<int64_t>((len + 31) / 32 * 32, 32, 256)); }

// The elementwise passes: planes on grid.x, the values of a plane on grid.y (grid-stride).
dim3 plane_grid(int64_t P, int64_t HW, int threads) {
  const int64_t per_plane = std::min<int64_t>((HW + threads * 4 - 1) / (threads * 4), 65535);
  return dim3(unsigned(P), unsigned(std::max<int64_t>(per_plane, 1)));
}

void check_planes(int64_t P, const char* fn) {
  SDKD_CHECK(P <= int64_t(0x7fffffff), fn, ": ", P, " planes (N * C) exceed the grid limit of 2^31 - 1");
}

// Stage 1 of the statistics: per (plane, chunk) the sums of (x - K) and (x - K)^2, where K is the
// plane's first value. The shift keeps the squares small when |mean| >> std; the partials of one
// plane share K and add directly, different planes are merged as moments in stage 2.
__global__ void plane_moments_kernel(const float* __restrict__ x, int64_t HW, int64_t S,
                                     double* __restrict__ part) {
  __shared__ double scratch[32];
  const int64_t p = blockIdx.x, s = blockIdx.y;
  const int64_t chunk = (HW + S - 1) / S;
  const int64_t lo = s * chunk, hi = lo + chunk < HW ? lo + chunk : HW;
  const float* xp = x + p * HW;
  const double K = double(xp[0]);
  double a = 0, b = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const double d = double(xp[i]) - K;
    a += d;
    b += d * d;
  }
  a = block_sum(a, scratch);
  b = block_sum(b, scratch);
  if (threadIdx.x == 0) {
    part[(p * S + s) * 2 + 0] = a;
    part[(p * S + s) * 2 + 1] = b;
  }
}

// Stage 1 of a backward pass: per (plane, chunk) the sums of dy and dy * (x - mean), where the
// mean is that of the plane's set, set = (p / set_div) % set_mod.
__global__ void plane_grad_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                  const double* __restrict__ mean, int64_t HW, int64_t S, int64_t set_div,
                                  int64_t set_mod, double* __restrict__ part) {
  __shared__ double scratch[32];
  const int64_t p = blockIdx.x, s = blockIdx.y;
  const int64_t chunk = (HW + S - 1) / S;
  const int64_t lo = s * chunk, hi = lo + chunk < HW ? lo + chunk : HW;
  const double m = double(mean[(p / set_div) % set_mod]);
  const float* xp = x + p * HW;
  const float* gp = dy + p * HW;
  double a = 0, b = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    const double g = double(gp[i]);
    a += g;
    b += g * (double(xp[i]) - m);
  }
  a = block_sum(a, scratch);
  b = block_sum(b, scratch);
  if (threadIdx.x == 0) {
    part[(p * S + s) * 2 + 0] = a;
    part[(p * S + s) * 2 + 1] = b;
  }
}

// The two sums of one plane: its chunks added in chunk order.
__device__ void plane_total(const double* part, int64_t p, int64_t S, double& a, double& b) {
  a = 0;
  b = 0;
  for (int64_t s = 0; s < S; ++s) {
    a += part[(p * S + s) * 2 + 0];
    b += part[(p * S + s) * 2 + 1];
  }
}

// Stage 2 of the statistics, one thread per set. Set k holds the planes k * first_mul + j * step
// for j < per_set (BatchNorm: first_mul 1, step C, per_set N; GroupNorm: first_mul C/G, step 1,
// per_set C/G). Running buffers (BatchNorm only) are updated here, once per channel.
__global__ void finalize_moments_kernel(const float* __restrict__ x, const double* __restrict__ part, int64_t HW,
                                        int64_t S, int64_t sets, int64_t first_mul, int64_t step, int64_t per_set,
                                        double eps, double* __restrict__ save_mean, double* __restrict__ save_invstd,
                                        double* __restrict__ stats, float* __restrict__ running_mean,
                                        float* __restrict__ running_var, double momentum) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < sets; k += int64_t(gridDim.x) * blockDim.x) {
    Moments m;
    const double n = double(HW);
    for (int64_t j = 0; j < per_set; ++j) {
      const int64_t p = k * first_mul + j * step;
      double a, b;
      plane_total(part, p, S, a, b);
      const double K = double(x[p * HW]);
      m.merge(n, K + a / n, fmax(b - a * a / n, 0.0));
    }
    const double invstd = 1.0 / sqrt(m.m2 / m.count + eps);
    save_mean[k] = m.mean;
    save_invstd[k] = invstd;
    stats[2 * k + 0] = m.mean;  // unrounded, for the normalisation pass (as the CPU twin)
    stats[2 * k + 1] = invstd;
    if (running_mean) {
      const double unbiased_var = m.m2 / (m.count - 1.0);
      running_mean[k] = float((1.0 - momentum) * double(running_mean[k]) + momentum * m.mean);
      running_var[k] = float((1.0 - momentum) * double(running_var[k]) + momentum * unbiased_var);
    }
  }
}

// Stage 3 of the forward: y = (x - mean) * gamma * invstd + beta, per plane, from the unrounded
// statistics (stats: mean, invstd per set). The elementwise pass runs in double like the CPU
// twin's: it is bound by memory traffic, and the results then agree to the final rounding even
// when |mean| >> std.
__global__ void normalise_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t HW, int64_t C,
                                 int64_t set_div, int64_t set_mod, const double* __restrict__ stats,
                                 const float* __restrict__ gamma, const float* __restrict__ beta) {
  const int64_t p = blockIdx.x, c = p % C, k = (p / set_div) % set_mod;
  const double m = stats[2 * k + 0];
  const double a = (gamma ? double(gamma[c]) : 1.0) * stats[2 * k + 1];
  const double b = beta ? double(beta[c]) : 0.0;
  const float* xp = x + p * HW;
  float* yp = y + p * HW;
  for (int64_t i = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; i < HW; i += int64_t(gridDim.y) * blockDim.x)
    yp[i] = float((double(xp[i]) - m) * a + b);
}

// dgamma / dbeta per channel: dgamma_c = sum_n dy * (x - mean) * invstd, dbeta_c = sum_n dy,
// planes n * C + c in n order (invstd of the plane's set).
__global__ void channel_param_grads_kernel(const double* __restrict__ part, int64_t S, int64_t N, int64_t C,
                                           int64_t set_div, int64_t set_mod, const double* __restrict__ invstd,
                                           float* __restrict__ dgamma, float* __restrict__ dbeta) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    double sdy = 0, sg = 0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t p = n * C + c;
      double a, b;
      plane_total(part, p, S, a, b);
      sdy += a;
      sg += b * double(invstd[(p / set_div) % set_mod]);
    }
    if (dgamma) dgamma[c] = float(sg);
    if (dbeta) dbeta[c] = float(sdy);
  }
}

// BatchNorm's dx constants per channel: dx = k * dy + c1 * (x - mean) + c0 with k = gamma * invstd,
// c1 = -k * invstd^2 * sum(dy * (x - mean)) / count, c0 = -k * sum(dy) / count (zero in eval mode,
// where the statistics are constants).
__global__ void bn_coef_kernel(const double* __restrict__ part, int64_t S, int64_t N, int64_t C, int64_t HW,
                               const float* __restrict__ gamma, const double* __restrict__ invstd, bool training,
                               double* __restrict__ coef) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    double c1 = 0, c0 = 0;
    if (training) {
      double sdy = 0, sdyxc = 0;
      for (int64_t n = 0; n < N; ++n) {
        double a, b;
        plane_total(part, n * C + c, S, a, b);
        sdy += a;
        sdyxc += b;
      }
      const double inv = double(invstd[c]);
      const double k = (gamma ? double(gamma[c]) : 1.0) * inv;
      const double count = double(N) * double(HW);
      c1 = -k * inv * inv * sdyxc / count;
      c0 = -k * sdy / count;
    }
    coef[2 * c + 0] = c1;
    coef[2 * c + 1] = c0;
  }
}

// GroupNorm's dx constants per group (n, g): the gradient w.r.t. the normalised value is
// gamma_c * dy, so the group sums weight each plane by its gamma (as the CPU twin).
__global__ void gn_coef_kernel(const double* __restrict__ part, int64_t S, int64_t sets, int64_t C, int64_t Cg,
                               int64_t HW, const float* __restrict__ gamma, const double* __restrict__ invstd,
                               double* __restrict__ coef) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < sets; k += int64_t(gridDim.x) * blockDim.x) {
    double gdy = 0, gdyxc = 0;
    for (int64_t j = 0; j < Cg; ++j) {
      const int64_t p = k * Cg + j;
      const double w = gamma ? double(gamma[p % C]) : 1.0;
      double a, b;
      plane_total(part, p, S, a, b);
      gdy += w * a;
      gdyxc += w * b;
    }
    const double inv = double(invstd[k]);
    const double count = double(Cg) * double(HW);
    coef[2 * k + 0] = -inv * inv * inv * gdyxc / count;
    coef[2 * k + 1] = -inv * gdy / count;
  }
}

// Stage 3 of a backward pass: dx = gamma_c * invstd * dy + c1 * (x - mean) + c0, per plane, in
// double as the CPU twin (the terms can cancel, e.g. a group of one value).
__global__ void input_grad_kernel(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dx,
                                  int64_t HW, int64_t C, int64_t set_div, int64_t set_mod,
                                  const double* __restrict__ mean, const double* __restrict__ invstd,
                                  const float* __restrict__ gamma, const double* __restrict__ coef) {
  const int64_t p = blockIdx.x, c = p % C, k = (p / set_div) % set_mod;
  const double m = double(mean[k]);
  const double kk = (gamma ? double(gamma[c]) : 1.0) * double(invstd[k]);
  const double c1 = coef[2 * k + 0], c0 = coef[2 * k + 1];
  const float* xp = x + p * HW;
  const float* gp = dy + p * HW;
  float* dp = dx + p * HW;
  for (int64_t i = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; i < HW; i += int64_t(gridDim.y) * blockDim.x)
    dp[i] = float(kk * double(gp[i]) + c1 * (double(xp[i]) - m) + c0);
}

// Eval mode's statistics: the running mean and 1 / sqrt(running_var + eps), per channel.
__global__ void eval_stats_kernel(const float* __restrict__ running_mean, const float* __restrict__ running_var,
                                  double* __restrict__ save_invstd, double* __restrict__ stats, int64_t C, double eps) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    const double invstd = 1.0 / sqrt(double(running_var[c]) + eps);
    save_invstd[c] = invstd;
    stats[2 * c + 0] = double(running_mean[c]);
    stats[2 * c + 1] = invstd;
  }
}

// ---------------------------------------------------------------- LayerNorm

// Rows are reduced by one warp (kWarpRows = true: 8 rows per 256-thread block) or by one whole
// block (long rows). `group_sum` is the matching reduction.
constexpr int kLnThreads = 256;
constexpr int64_t kWarpRowMax = 1024;

template <bool kWarpRows>
__device__ __forceinline__ double group_sum(double v, double* scratch) {
  if constexpr (kWarpRows) {
    (void)scratch;
    return warp_sum(v);
  } else {
    return block_sum(v, scratch);
  }
}

template <bool kWarpRows>
struct RowLayout {
  // lane within the row's group, its width, first row of this block and the row stride.
  __device__ static int lane() { return kWarpRows ? int(threadIdx.x & 31) : int(threadIdx.x); }
  __device__ static int width() { return kWarpRows ? 32 : int(blockDim.x); }
  __device__ static int64_t first() {
    return kWarpRows ? int64_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5) : int64_t(blockIdx.x);
  }
  __device__ static int64_t stride() { return kWarpRows ? int64_t(gridDim.x) * (blockDim.x / 32) : int64_t(gridDim.x); }
};

template <bool kWarpRows>
__global__ void layer_norm_forward_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, float* __restrict__ y, int64_t rows,
                                          int64_t D, double eps, double* __restrict__ save_mean,
                                          double* __restrict__ save_invstd) {
  __shared__ double scratch[32];
  using L = RowLayout<kWarpRows>;
  for (int64_t r = L::first(); r < rows; r += L::stride()) {
    const float* xr = x + r * D;
    const double K = double(xr[0]);  // shift against cancellation, as in the BatchNorm stats
    double a = 0, b = 0;
    for (int64_t j = L::lane(); j < D; j += L::width()) {
      const double d = double(xr[j]) - K;
      a += d;
      b += d * d;
    }
    a = group_sum<kWarpRows>(a, scratch);
    b = group_sum<kWarpRows>(b, scratch);
    const double n = double(D);
    const double mean = K + a / n;
    const double invstd = 1.0 / sqrt(fmax(b - a * a / n, 0.0) / n + eps);
    if (L::lane() == 0) {
      save_mean[r] = mean;
      save_invstd[r] = invstd;
    }
    float* yr = y + r * D;
    for (int64_t j = L::lane(); j < D; j += L::width()) {
      const double g = gamma ? double(gamma[j]) : 1.0, bb = beta ? double(beta[j]) : 0.0;
      yr[j] = float((double(xr[j]) - mean) * invstd * g + bb);
    }
  }
}

// dx per row: with gdy = gamma * dy, dx = invstd * gdy + c1 * (x - mean) + c0, where
// c1 = -invstd^3 * sum(gdy * (x - mean)) / D and c0 = -invstd * sum(gdy) / D; in double, as the
// CPU twin (for D = 1 the terms cancel exactly).
template <bool kWarpRows>
__global__ void layer_norm_dx_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                     const float* __restrict__ gamma, const double* __restrict__ save_mean,
                                     const double* __restrict__ save_invstd, float* __restrict__ dx, int64_t rows,
                                     int64_t D) {
  __shared__ double scratch[32];
  using L = RowLayout<kWarpRows>;
  for (int64_t r = L::first(); r < rows; r += L::stride()) {
    const float* xr = x + r * D;
    const float* gr = dy + r * D;
    const double m = double(save_mean[r]), inv = double(save_invstd[r]);
    double a = 0, b = 0;
    for (int64_t j = L::lane(); j < D; j += L::width()) {
      const double gdy = (gamma ? double(gamma[j]) : 1.0) * double(gr[j]);
      a += gdy;
      b += gdy * (double(xr[j]) - m);
    }
    a = group_sum<kWarpRows>(a, scratch);
    b = group_sum<kWarpRows>(b, scratch);
    const double n = double(D);
    const double c1 = -inv * inv * inv * b / n, c0 = -inv * a / n;
    float* dr = dx + r * D;
    for (int64_t j = L::lane(); j < D; j += L::width()) {
      const double g = gamma ? double(gamma[j]) : 1.0;
      dr[j] = float(inv * g * double(gr[j]) + c1 * (double(xr[j]) - m) + c0);
    }
  }
}

// dgamma / dbeta, stage 1: a (32 columns) x (8 row lanes) block sums the rows of one chunk for
// its 32 columns; the 8 row lanes are then added in lane order. Partials: [chunk][D] for dgamma,
// followed by [chunk][D] for dbeta.
__global__ void layer_norm_param_partial_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                                const double* __restrict__ save_mean,
                                                const double* __restrict__ save_invstd, int64_t rows, int64_t D,
                                                int64_t rows_per_chunk, int64_t chunks, double* __restrict__ part) {
  __shared__ double sg[8][32], sb[8][32];
  const int64_t d = int64_t(blockIdx.x) * 32 + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * rows_per_chunk, r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  double pg = 0, pb = 0;
  if (d < D) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      const double g = double(dy[r * D + d]);
      pg += g * (double(x[r * D + d]) - double(save_mean[r])) * double(save_invstd[r]);
      pb += g;
    }
  }
  sg[threadIdx.y][threadIdx.x] = pg;
  sb[threadIdx.y][threadIdx.x] = pb;
  __syncthreads();
  if (threadIdx.y == 0 && d < D) {
    double tg = 0, tb = 0;
    for (int i = 0; i < 8; ++i) {
      tg += sg[i][threadIdx.x];
      tb += sb[i][threadIdx.x];
    }
    part[chunk * D + d] = tg;
    part[(chunks + chunk) * D + d] = tb;
  }
}

// Stage 2: per column, the chunk partials in chunk order.
__global__ void layer_norm_param_final_kernel(const double* __restrict__ part, int64_t D, int64_t chunks,
                                              float* __restrict__ dgamma, float* __restrict__ dbeta) {
  for (int64_t d = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; d < D; d += int64_t(gridDim.x) * blockDim.x) {
    double tg = 0, tb = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      tg += part[c * D + d];
      tb += part[(chunks + c) * D + d];
    }
    if (dgamma) dgamma[d] = float(tg);
    if (dbeta) dbeta[d] = float(tb);
  }
}

// Row chunks for the dgamma / dbeta partials: at least 32 rows each, at most 256 chunks.
int64_t ln_rows_per_chunk(int64_t rows) { return std::max<int64_t>(32, (rows + 255) / 256); }

// Launches a row kernel in its warp- or block-per-row form.
unsigned row_blocks(int64_t rows, bool warp_rows) {
  const int64_t per_block = warp_rows ? kLnThreads / 32 : 1;
  return unsigned(std::clamp<int64_t>((rows + per_block - 1) / per_block, 1, 65535LL * 8));
}

void check_size(int64_t N, int64_t C, int64_t HW, const char* fn) {
  SDKD_CHECK(N >= 0 && C >= 0 && HW >= 0, fn, ": sizes must be non-negative, got N=", N, " C=", C, " HW=", HW);
}

// ---------------------------------------------------------------- BatchNorm2d

int64_t batch_norm_workspace(int64_t N, int64_t C, int64_t HW) {
  // stage-1 partials (2 per plane and chunk) plus 2 per channel: the statistics in the forward
  // pass, the dx constants in the backward pass.
  return N * C * chunks_for(HW) * 2 + 2 * C;
}

void batch_norm_forward_train(const ExecContext& ctx, const float* x, const float* gamma, const float* beta, float* y, int64_t N,
                              int64_t C, int64_t HW, double eps, double* save_mean, double* save_invstd,
                              float* running_mean, float* running_var, double momentum, double* workspace) {
  const char* fn = "gpu::batch_norm_forward_train";
  check_size(N, C, HW, fn);
  SDKD_CHECK(N * HW > 1, fn, ": expected more than one value per channel (N * HW > 1), got N=", N, " HW=", HW);
  SDKD_CHECK((running_mean == nullptr) == (running_var == nullptr), fn,
             ": running_mean and running_var must both be given or both be null");
  if (C == 0) return;
  const int64_t P = N * C, S = chunks_for(HW);
  check_planes(P, fn);
  cudaStream_t st = stream_of(ctx);
  double* stats = workspace + P * S * 2;
  plane_moments_kernel<<<dim3(unsigned(P), unsigned(S)), threads_for((HW + S - 1) / S), 0, st>>>(x, HW, S, workspace);
  SDKD_CUDA_LAUNCH_CHECK();
  finalize_moments_kernel<<<grid_for(C), kThreads, 0, st>>>(x, workspace, HW, S, C, 1, C, N, eps, save_mean,
                                                            save_invstd, stats, running_mean, running_var, momentum);
  SDKD_CUDA_LAUNCH_CHECK();
  const int t = threads_for(HW);
  normalise_kernel<<<plane_grid(P, HW, t), t, 0, st>>>(x, y, HW, C, 1, C, stats, gamma, beta);
  SDKD_CUDA_LAUNCH_CHECK();
}

void batch_norm_forward_eval(const ExecContext& ctx, const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t N, int64_t C, int64_t HW, double eps,
                             double* save_invstd, double* workspace) {
  const char* fn = "gpu::batch_norm_forward_eval";
  check_size(N, C, HW, fn);
  SDKD_CHECK(save_invstd != nullptr, fn, ": save_invstd (C values) is required");
  if (C == 0) return;
  cudaStream_t st = stream_of(ctx);
  eval_stats_kernel<<<grid_for(C), kThreads, 0, st>>>(running_mean, running_var, save_invstd, workspace, C, eps);
  SDKD_CUDA_LAUNCH_CHECK();
  const int64_t P = N * C;
  if (P * HW == 0) return;
  check_planes(P, fn);
  const int t = threads_for(HW);
  normalise_kernel<<<plane_grid(P, HW, t), t, 0, st>>>(x, y, HW, C, 1, C, workspace, gamma, beta);
  SDKD_CUDA_LAUNCH_CHECK();
}

void batch_norm_backward(const ExecContext& ctx, const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training, double* workspace) {
  const char* fn = "gpu::batch_norm_backward";
  check_size(N, C, HW, fn);
  if (C == 0 || (!dx && !dgamma && !dbeta)) return;
  const int64_t P = N * C, S = chunks_for(HW);
  check_planes(P, fn);
  cudaStream_t st = stream_of(ctx);
  if (P * HW == 0) {  // no values: the parameter gradients are empty sums
    if (dgamma) SDKD_CUDA_CHECK(cudaMemsetAsync(dgamma, 0, size_t(C) * sizeof(float), st));
    if (dbeta) SDKD_CUDA_CHECK(cudaMemsetAsync(dbeta, 0, size_t(C) * sizeof(float), st));
    return;
  }
  double* part = workspace;
  double* coef = workspace + P * S * 2;
  plane_grad_kernel<<<dim3(unsigned(P), unsigned(S)), threads_for((HW + S - 1) / S), 0, st>>>(dy, x, save_mean, HW, S,
                                                                                              1, C, part);
  SDKD_CUDA_LAUNCH_CHECK();
  if (dgamma || dbeta) {
    channel_param_grads_kernel<<<grid_for(C), kThreads, 0, st>>>(part, S, N, C, 1, C, save_invstd, dgamma, dbeta);
    SDKD_CUDA_LAUNCH_CHECK();
  }
  if (!dx) return;
  bn_coef_kernel<<<grid_for(C), kThreads, 0, st>>>(part, S, N, C, HW, gamma, save_invstd, training, coef);
  SDKD_CUDA_LAUNCH_CHECK();
  const int t = threads_for(HW);
  input_grad_kernel<<<plane_grid(P, HW, t), t, 0, st>>>(dy, x, dx, HW, C, 1, C, save_mean, save_invstd, gamma, coef);
  SDKD_CUDA_LAUNCH_CHECK();
}

// ---------------------------------------------------------------- GroupNorm

int64_t group_norm_workspace(int64_t N, int64_t C, int64_t HW, int64_t G) {
  return N * C * chunks_for(HW) * 2 + 2 * N * std::max<int64_t>(G, 1);
}

void group_norm_forward(const ExecContext& ctx, const float* x, const float* gamma, const float* beta, float* y, int64_t N, int64_t C,
                        int64_t HW, int64_t G, double eps, double* save_mean, double* save_invstd, double* workspace) {
  const char* fn = "gpu::group_norm_forward";
  check_size(N, C, HW, fn);
  SDKD_CHECK(G >= 1 && C % G == 0, fn, ": groups G must be >= 1 and divide C, got C=", C, " G=", G);
  if (N * C * HW == 0) return;
  const int64_t P = N * C, S = chunks_for(HW), Cg = C / G;
  check_planes(P, fn);
  cudaStream_t st = stream_of(ctx);
  double* stats = workspace + P * S * 2;
  plane_moments_kernel<<<dim3(unsigned(P), unsigned(S)), threads_for((HW + S - 1) / S), 0, st>>>(x, HW, S, workspace);
  SDKD_CUDA_LAUNCH_CHECK();
  finalize_moments_kernel<<<grid_for(N * G), kThreads, 0, st>>>(x, workspace, HW, S, N * G, Cg, 1, Cg, eps, save_mean,
                                                                save_invstd, stats, nullptr, nullptr, 0.0);
  SDKD_CUDA_LAUNCH_CHECK();
  const int t = threads_for(HW);
  normalise_kernel<<<plane_grid(P, HW, t), t, 0, st>>>(x, y, HW, C, Cg, N * G, stats, gamma, beta);
  SDKD_CUDA_LAUNCH_CHECK();
}

void group_norm_backward(const ExecContext& ctx, const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                         int64_t HW, int64_t G, double* workspace) {
  const char* fn = "gpu::group_norm_backward";
  check_size(N, C, HW, fn);
  SDKD_CHECK(G >= 1 && C % G == 0, fn, ": groups G must be >= 1 and divide C, got C=", C, " G=", G);
  if (C == 0 || (!dx && !dgamma && !dbeta)) return;
  cudaStream_t st = stream_of(ctx);
  if (N * HW == 0) {
    if (dgamma) SDKD_CUDA_CHECK(cudaMemsetAsync(dgamma, 0, size_t(C) * sizeof(float), st));
    if (dbeta) SDKD_CUDA_CHECK(cudaMemsetAsync(dbeta, 0, size_t(C) * sizeof(float), st));
    return;
  }
  const int64_t P = N * C, S = chunks_for(HW), Cg = C / G;
  check_planes(P, fn);
  double* part = workspace;
  double* coef = workspace + P * S * 2;
  plane_grad_kernel<<<dim3(unsigned(P), unsigned(S)), threads_for((HW + S - 1) / S), 0, st>>>(dy, x, save_mean, HW, S,
                                                                                              Cg, N * G, part);
  SDKD_CUDA_LAUNCH_CHECK();
  if (dgamma || dbeta) {
    channel_param_grads_kernel<<<grid_for(C), kThreads, 0, st>>>(part, S, N, C, Cg, N * G, save_invstd, dgamma, dbeta);
    SDKD_CUDA_LAUNCH_CHECK();
  }
  if (!dx) return;
  gn_coef_kernel<<<grid_for(N * G), kThreads, 0, st>>>(part, S, N * G, C, Cg, HW, gamma, save_invstd, coef);
  SDKD_CUDA_LAUNCH_CHECK();
  const int t = threads_for(HW);
  input_grad_kernel<<<plane_grid(P, HW, t), t, 0, st>>>(dy, x, dx, HW, C, Cg, N * G, save_mean, save_invstd, gamma,
                                                        coef);
  SDKD_CUDA_LAUNCH_CHECK();
}

// ---------------------------------------------------------------- LayerNorm

void layer_norm_forward(const ExecContext& ctx, const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t D,
                        double eps, double* save_mean, double* save_invstd) {
  const char* fn = "gpu::layer_norm_forward";
  SDKD_CHECK(rows >= 0 && D >= 1, fn, ": expected rows >= 0 and D >= 1, got rows=", rows, " D=", D);
  if (rows == 0) return;
  cudaStream_t st = stream_of(ctx);
  const bool warp_rows = D <= kWarpRowMax;
  if (warp_rows)
    layer_norm_forward_kernel<true><<<row_blocks(rows, true), kLnThreads, 0, st>>>(x, gamma, beta, y, rows, D, eps,
                                                                                 save_mean, save_invstd);
  else
    layer_norm_forward_kernel<false><<<row_blocks(rows, false), kLnThreads, 0, st>>>(x, gamma, beta, y, rows, D, eps,
                                                                                   save_mean, save_invstd);
  SDKD_CUDA_LAUNCH_CHECK();
}

int64_t layer_norm_backward_workspace(int64_t rows, int64_t D) {
  const int64_t per = ln_rows_per_chunk(rows);
  return 2 * ((rows + per - 1) / per) * D;
}

void layer_norm_backward(const ExecContext& ctx, const float* dy, const float* x, const float* gamma, const double* save_mean,
                         const double* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t D,
                         double* workspace) {
  const char* fn = "gpu::layer_norm_backward";
  SDKD_CHECK(rows >= 0 && D >= 1, fn, ": expected rows >= 0 and D >= 1, got rows=", rows, " D=", D);
  if (!dx && !dgamma && !dbeta) return;
  cudaStream_t st = stream_of(ctx);
  if (rows == 0) {
    if (dgamma) SDKD_CUDA_CHECK(cudaMemsetAsync(dgamma, 0, size_t(D) * sizeof(float), st));
    if (dbeta) SDKD_CUDA_CHECK(cudaMemsetAsync(dbeta, 0, size_t(D) * sizeof(float), st));
    return;
  }
  if (dx) {
    if (D <= kWarpRowMax)
      layer_norm_dx_kernel<true><<<row_blocks(rows, true), kLnThreads, 0, st>>>(dy, x, gamma, save_mean, save_invstd,
                                                                               dx, rows, D);
    else
      layer_norm_dx_kernel<false><<<row_blocks(rows, false), kLnThreads, 0, st>>>(dy, x, gamma, save_mean,
                                                                                save_invstd, dx, rows, D);
    SDKD_CUDA_LAUNCH_CHECK();
  }
  if (!dgamma && !dbeta) return;
  const int64_t per = ln_rows_per_chunk(rows), chunks = (rows + per - 1) / per;
  SDKD_CHECK((D + 31) / 32 <= int64_t(0x7fffffff), fn, ": D=", D, " exceeds the grid limit");
  layer_norm_param_partial_kernel<<<dim3(unsigned((D + 31) / 32), unsigned(chunks)), dim3(32, 8), 0, st>>>(
      dy, x, save_mean, save_invstd, rows, D, per, chunks, workspace);
  SDKD_CUDA_LAUNCH_CHECK();
  layer_norm_param_final_kernel<<<grid_for(D), kThreads, 0, st>>>(workspace, D, chunks, dgamma, dbeta);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace

void norm_forward(const ExecContext& ctx, const NormShape& s, const NormForwardArgs<float>& a) {
  switch (s.kind) {
    case NormKind::batch: {
      const Workspace ws(ctx, size_t(batch_norm_workspace(s.N, s.C, s.HW)) * sizeof(double));
      if (s.training)
        batch_norm_forward_train(ctx, a.x, a.gamma, a.beta, a.y, s.N, s.C, s.HW, s.eps, a.mean, a.invstd,
                                 a.running_mean, a.running_var, s.momentum, ws.as<double>());
      else
        batch_norm_forward_eval(ctx, a.x, a.gamma, a.beta, a.running_mean, a.running_var, a.y, s.N, s.C, s.HW, s.eps,
                                a.invstd, ws.as<double>());
      break;
    }
    case NormKind::group: {
      const Workspace ws(ctx, size_t(group_norm_workspace(s.N, s.C, s.HW, s.G)) * sizeof(double));
      group_norm_forward(ctx, a.x, a.gamma, a.beta, a.y, s.N, s.C, s.HW, s.G, s.eps, a.mean, a.invstd,
                         ws.as<double>());
      break;
    }
    case NormKind::layer:
      layer_norm_forward(ctx, a.x, a.gamma, a.beta, a.y, s.N, s.HW, s.eps, a.mean, a.invstd);
      break;
  }
}

void norm_backward(const ExecContext& ctx, const NormShape& s, const NormBackwardArgs<float>& a) {
  switch (s.kind) {
    case NormKind::batch: {
      const Workspace ws(ctx, size_t(batch_norm_workspace(s.N, s.C, s.HW)) * sizeof(double));
      batch_norm_backward(ctx, a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.C, s.HW,
                          s.training, ws.as<double>());
      break;
    }
    case NormKind::group: {
      const Workspace ws(ctx, size_t(group_norm_workspace(s.N, s.C, s.HW, s.G)) * sizeof(double));
      group_norm_backward(ctx, a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.C, s.HW, s.G,
                          ws.as<double>());
      break;
    }
    case NormKind::layer: {
      const bool params = a.dgamma || a.dbeta;
      const Workspace ws(ctx, params ? size_t(layer_norm_backward_workspace(s.N, s.HW)) * sizeof(double) : 0);
      layer_norm_backward(ctx, a.dy, a.x, a.gamma, a.mean, a.invstd, a.dx, a.dgamma, a.dbeta, s.N, s.HW,
                          ws.as<double>());
      break;
    }
  }
}

}  // namespace sdkd::gpu
