// Fused band-split spectral loss and band energies. Each block owns one contiguous chunk of
// bins; every thread keeps one double accumulator per band in its own column of shared memory
// (the band changes bin to bin, so registers would need dynamic indexing), and the block then
// reduces each band in a fixed tree. A second kernel sums the block partials of each band in
// block order. The grid is a function of the problem size only, so the sums are the same run
// to run and on any GPU.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/spectral_loss.hpp"

namespace sdkd::gpu {

namespace {

constexpr int kLossThreads = 128;        // K * 128 doubles of shared memory: 32 KiB at K = 32
constexpr int64_t kBinsPerBlock = 4096;  // 32 bins per thread
constexpr int64_t kMaxBlocks = 2048;

struct BandScales {
  float v[kMaxSpectralBands];
};

struct Grid {
  int64_t n, blocks, chunk;
};

Grid grid_of(int64_t batch, int H, int W) {
  Grid g;
  g.n = batch * H * (W / 2 + 1);
  g.blocks = std::clamp<int64_t>((g.n + kBinsPerBlock - 1) / kBinsPerBlock, 1, kMaxBlocks);
  g.chunk = (g.n + g.blocks - 1) / g.blocks;
  return g;
}

void check_args(int64_t batch, int H, int W, const int32_t* band_of, int K, const char* who) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 1, who, ": expected batch >= 0 and H, W >= 1, got batch ", batch, " H ", H,
             " W ", W);
  SDKD_CHECK(K >= 1 && K <= kMaxSpectralBands, who, ": ", K, " bands; the CUDA kernel takes 1 to ", kMaxSpectralBands,
             " bands (use fewer cutoffs or run on the CPU)");
  SDKD_CHECK(band_of != nullptr, who, ": band_of must be a device buffer");
}

// kLoss: A = S, B = T, sums w |A - B|^2 and (kGrad) writes grad; otherwise sums w |A|^2.
template <bool kLoss, bool kGrad>
__global__ void band_partials_kernel(const float2* A, const float2* B, float2* grad, int64_t n, int64_t chunk,
                                     int64_t plane, int Wc, int W, const int32_t* band_of, int K, BandScales scale,
                                     double* partials) {
  extern __shared__ double acc[];  // acc[b * blockDim.x + thread]
  __shared__ double red[32];
  const int tid = threadIdx.x, bd = blockDim.x;
  for (int b = 0; b < K; ++b) acc[b * bd + tid] = 0.0;
  const int64_t start = blockIdx.x * chunk, end = min(n, start + chunk);
  for (int64_t i = start + tid; i < end; i += bd) {
    const int64_t j = i % plane;
    const int l = int(j % Wc);
    const int b = band_of[j];
    const double w = (l == 0 || 2 * l == W) ? 1.0 : 2.0;
    const float2 a = A[i];
    if (kLoss) {
      const float2 t = B[i];
      const float dre = a.x - t.x, dim = a.y - t.y;
      acc[b * bd + tid] += w * (double(dre) * dre + double(dim) * dim);
      if (kGrad) grad[i] = make_float2(scale.v[b] * dre, scale.v[b] * dim);
    } else {
      acc[b * bd + tid] += w * (double(a.x) * a.x + double(a.y) * a.y);
    }
  }
  for (int b = 0; b < K; ++b) {
    const double s = block_sum(acc[b * bd + tid], red);
    if (tid == 0) partials[blockIdx.x * int64_t(K) + b] = s;
  }
}

// out[b] = sum over blocks (in a fixed tree) of partials[blk * K + b]; one block per band.
__global__ void band_finish_kernel(const double* partials, int64_t blocks, int K, double* out) {
  __shared__ double red[32];
  const int b = blockIdx.x;
  double s = 0.0;
  for (int64_t blk = threadIdx.x; blk < blocks; blk += blockDim.x) s += partials[blk * K + b];
  s = block_sum(s, red);
  if (threadIdx.x == 0) out[b] = s;
}

template <bool kLoss, bool kGrad>
void run(const ExecContext& ctx, const float* A, const float* B, float* grad, int64_t batch, int H, int W,
         const int32_t* band_of, int K, const BandScales& scale, double* band_sums) {
  const Grid g = grid_of(batch, H, W);
  const int Wc = W / 2 + 1;
  const cudaStream_t stream = stream_of(ctx);
  // Per-block partials of every band, then the K totals.
  const Workspace scratch(ctx, size_t((g.blocks + 1) * int64_t(K)) * sizeof(double));
  double* workspace = scratch.as<double>();
  double* partials = workspace;
  double* totals = workspace + g.blocks * K;
  if (g.n > 0) {
    const size_t shared = size_t(K) * kLossThreads * sizeof(double);
    band_partials_kernel<kLoss, kGrad><<<unsigned(g.blocks), kLossThreads, shared, stream>>>(
        reinterpret_cast<const float2*>(A), reinterpret_cast<const float2*>(B), reinterpret_cast<float2*>(grad), g.n,
        g.chunk, int64_t(H) * Wc, Wc, W, band_of, K, scale, partials);
    SDKD_CUDA_LAUNCH_CHECK();
    band_finish_kernel<<<unsigned(K), kLossThreads, 0, stream>>>(partials, g.blocks, K, totals);
    SDKD_CUDA_LAUNCH_CHECK();
    SDKD_CUDA_CHECK(cudaMemcpyAsync(band_sums, totals, size_t(K) * sizeof(double), cudaMemcpyDeviceToHost, stream));
    SDKD_CUDA_CHECK(cudaStreamSynchronize(stream));
  } else {
    std::fill(band_sums, band_sums + K, 0.0);
  }
}

}  // namespace

void spectral_band_loss(const ExecContext& ctx, const float* S, const float* T, float* grad, int64_t batch, int H,
                        int W, const int32_t* band_of, int K, const double* grad_scale, double* band_sums) {
  check_args(batch, H, W, band_of, K, "spectral_band_loss (CUDA)");
  SDKD_CHECK(grad == nullptr || grad_scale != nullptr, "spectral_band_loss (CUDA): a gradient needs grad_scale");
  BandScales scale{};
  if (grad != nullptr)
    for (int b = 0; b < K; ++b) scale.v[b] = float(grad_scale[b]);  // as the CPU twin: T(grad_scale[b])
  if (grad != nullptr) run<true, true>(ctx, S, T, grad, batch, H, W, band_of, K, scale, band_sums);
  else run<true, false>(ctx, S, T, nullptr, batch, H, W, band_of, K, scale, band_sums);
}

void spectral_band_energy(const ExecContext& ctx, const float* X, int64_t batch, int H, int W,
                          const int32_t* band_of, int K, double* band_sums) {
  check_args(batch, H, W, band_of, K, "spectral_band_energy (CUDA)");
  run<false, false>(ctx, X, nullptr, nullptr, batch, H, W, band_of, K, BandScales{}, band_sums);
}

}  // namespace sdkd::gpu
