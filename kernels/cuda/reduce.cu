// Deterministic reductions with double accumulators (see reduce.hpp for the contract).
// Three shapes of work:
//   rows  (inner == 1, short rows): one warp per row, lanes stride the row, warp shuffle sum;
//   long  (inner == 1, long rows):  each row cut into chunks, one block per (row, chunk), then a
//                                   warp per row adds its chunk partials in chunk order;
//   cols  (inner > 1):              one thread per output element walks its slice of the
//                                   reduced axis (reads coalesce along inner); the reduced
//                                   axis is cut into chunks when there are few outputs.
// The chunk counts depend only on the sizes, so the summation order is fixed.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/reduce.hpp"

namespace sdkd::gpu {

namespace {

constexpr int64_t kWarpRowMax = 1024;   // rows up to this length take one warp each
constexpr int64_t kChunk = 4096;        // elements per block in the long-row and loss passes
constexpr int64_t kMaxChunks = 1024;    // partials per row at most
constexpr int64_t kColsThreads = 131072;  // threads the cols kernel aims for

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

enum class Path { rows, long_rows, cols };

struct Plan {
  Path path = Path::rows;
  int64_t chunks = 1, chunk_len = 0;
};

Plan plan_for(int64_t outer, int64_t red, int64_t inner) {
  Plan p;
  if (inner == 1 && red <= kWarpRowMax) {
    p.path = Path::rows;
  } else if (inner == 1) {
    p.path = Path::long_rows;
    // Enough blocks to fill the device when there are few rows; one block per row otherwise.
    p.chunks = std::clamp<int64_t>(std::min(cdiv(red, kChunk), cdiv(2048, outer)), 1, kMaxChunks);
  } else {
    p.path = Path::cols;
    p.chunks = std::clamp<int64_t>(std::min(cdiv(kColsThreads, outer * inner), cdiv(red, 16)), 1, kMaxChunks);
  }
  p.chunk_len = cdiv(std::max<int64_t>(red, 1), p.chunks);
  return p;
}

__device__ __forceinline__ int64_t thread_index() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }

// One warp per row: out[r] = scale * sum(in[r, :]).
__global__ void rows_kernel(float* out, const float* in, int64_t rows, int64_t cols, double scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = thread_index() >> 5; r < rows; r += warps) {
    const float* row = in + r * cols;
    double acc = 0;
    for (int64_t c = lane; c < cols; c += 32) acc += double(row[c]);
    acc = warp_sum(acc);
    if (lane == 0) out[r] = float(acc * scale);
  }
}

// Block b sums chunk (b % chunks) of row (b / chunks); with one chunk it writes the result.
__global__ void long_rows_kernel(float* out, double* partial, const float* in, int64_t rows, int64_t cols,
                                 int64_t chunks, int64_t chunk_len, double scale) {
  __shared__ double scratch[32];
  for (int64_t b = blockIdx.x; b < rows * chunks; b += gridDim.x) {
    const int64_t r = b / chunks, c = b % chunks;
    const int64_t begin = c * chunk_len, end = min(cols, begin + chunk_len);
    const float* row = in + r * cols;
    double acc = 0;
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += double(row[i]);
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) {
      if (chunks == 1) out[r] = float(acc * scale);
      else partial[b] = acc;
    }
  }
}

// One warp per row adds that row's chunk partials.
__global__ void finish_rows_kernel(float* out, const double* partial, int64_t rows, int64_t chunks, double scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = thread_index() >> 5; r < rows; r += warps) {
    double acc = 0;
    for (int64_t c = lane; c < chunks; c += 32) acc += partial[r * chunks + c];
    acc = warp_sum(acc);
    if (lane == 0) out[r] = float(acc * scale);
  }
}

// Output element j = (o, i) of chunk blockIdx.y sums in[o, r, i] over its r range.
__global__ void cols_kernel(float* out, double* partial, const float* in, int64_t outer, int64_t red, int64_t inner,
                            int64_t chunks, int64_t chunk_len, double scale) {
  const int64_t n_out = outer * inner, c = blockIdx.y;
  const int64_t begin = c * chunk_len, end = min(red, begin + chunk_len);
  for (int64_t j = thread_index(); j < n_out; j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = j / inner, i = j % inner;
    const float* p = in + o * red * inner + i;
    double acc = 0;
    for (int64_t r = begin; r < end; ++r) acc += double(p[r * inner]);
    if (chunks == 1) out[j] = float(acc * scale);
    else partial[c * n_out + j] = acc;
  }
}

__global__ void finish_cols_kernel(float* out, const double* partial, int64_t n_out, int64_t chunks, double scale) {
  for (int64_t j = thread_index(); j < n_out; j += int64_t(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t c = 0; c < chunks; ++c) acc += partial[c * n_out + j];
    out[j] = float(acc * scale);
  }
}

// ---- pointwise losses (formulas in kernels/common/pointwise_loss.hpp, shared with the CPU) ----

template <PointLoss K>
__global__ void loss_partial_kernel(double* partial, const float* pred, const float* target, int64_t n,
                                    int64_t chunk_len, double margin) {
  __shared__ double scratch[32];
  const int64_t begin = blockIdx.x * chunk_len, end = min(n, begin + chunk_len);
  double acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
    acc += kern::point_loss_term<K>(double(pred[i]), double(target[i]), margin);
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// One block adds the partials (thread-strided, then the block tree) and divides by n.
__global__ void loss_finish_kernel(float* out, const double* partial, int64_t chunks, int64_t n) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc += partial[c];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) out[0] = float(acc / double(n));
}

// The CPU twin's expression, slope * (g / n), so the gradients agree exactly.
template <PointLoss K>
__global__ void loss_backward_kernel(float* d, const float* pred, const float* target, int64_t n, const float* g,
                                     double margin) {
  const double gs = double(*g) / double(n);
  for (int64_t i = thread_index(); i < n; i += int64_t(gridDim.x) * blockDim.x)
    d[i] = float(kern::point_loss_slope<K>(double(pred[i]), double(target[i]), margin) * gs);
}

int64_t loss_chunks(int64_t n) { return std::clamp<int64_t>(cdiv(n, kChunk), 1, kMaxChunks); }

}  // namespace

void sum(const ExecContext& ctx, float* out, const float* in, int64_t outer, int64_t red, int64_t inner,
         double scale) {
  const int64_t n_out = outer * inner;
  if (n_out == 0) return;
  const Plan p = plan_for(outer, red, inner);
  // Split reductions: one double partial per (output, chunk), added in chunk order.
  const Workspace partials(ctx, p.chunks > 1 ? size_t(n_out * p.chunks) * sizeof(double) : 0);
  double* workspace = partials.as<double>();
  cudaStream_t s = stream_of(ctx);
  const int warps_per_block = kThreads / 32;
  switch (p.path) {
    case Path::rows:
      rows_kernel<<<grid_for(outer, warps_per_block), kThreads, 0, s>>>(out, in, outer, red, scale);
      SDKD_CUDA_LAUNCH_CHECK();
      break;
    case Path::long_rows:
      long_rows_kernel<<<unsigned(std::min<int64_t>(outer * p.chunks, 65535LL * 8)), kThreads, 0, s>>>(
          out, workspace, in, outer, red, p.chunks, p.chunk_len, scale);
      SDKD_CUDA_LAUNCH_CHECK();
      if (p.chunks > 1) {
        finish_rows_kernel<<<grid_for(outer, warps_per_block), kThreads, 0, s>>>(out, workspace, outer, p.chunks,
                                                                                  scale);
        SDKD_CUDA_LAUNCH_CHECK();
      }
      break;
    case Path::cols: {
      const dim3 grid(grid_for(n_out), unsigned(p.chunks));
      cols_kernel<<<grid, kThreads, 0, s>>>(out, workspace, in, outer, red, inner, p.chunks, p.chunk_len, scale);
      SDKD_CUDA_LAUNCH_CHECK();
      if (p.chunks > 1) {
        finish_cols_kernel<<<grid_for(n_out), kThreads, 0, s>>>(out, workspace, n_out, p.chunks, scale);
        SDKD_CUDA_LAUNCH_CHECK();
      }
      break;
    }
  }
}

void pointwise_loss(const ExecContext& ctx, float* out, const float* pred, const float* target, int64_t n,
                    PointLossParams loss) {
  SDKD_CHECK(n > 0, "pointwise_loss: empty input");
  const int64_t chunks = loss_chunks(n), len = cdiv(n, chunks);
  const Workspace partials(ctx, size_t(chunks) * sizeof(double));  // one double per block
  double* workspace = partials.as<double>();
  cudaStream_t s = stream_of(ctx);
  const unsigned grid = unsigned(chunks);
  switch (loss.kind) {
    case PointLoss::mse:
      loss_partial_kernel<PointLoss::mse><<<grid, kThreads, 0, s>>>(workspace, pred, target, n, len, loss.margin);
      break;
    case PointLoss::l1:
      loss_partial_kernel<PointLoss::l1><<<grid, kThreads, 0, s>>>(workspace, pred, target, n, len, loss.margin);
      break;
    case PointLoss::ab:
      loss_partial_kernel<PointLoss::ab><<<grid, kThreads, 0, s>>>(workspace, pred, target, n, len, loss.margin);
      break;
  }
  SDKD_CUDA_LAUNCH_CHECK();
  loss_finish_kernel<<<1, kThreads, 0, s>>>(out, workspace, chunks, n);
  SDKD_CUDA_LAUNCH_CHECK();
}

void pointwise_loss_backward(const ExecContext& ctx, float* d, const float* pred, const float* target, int64_t n,
                             PointLossParams loss, const float* g) {
  if (n == 0) return;
  cudaStream_t s = stream_of(ctx);
  const unsigned grid = grid_for(n);
  switch (loss.kind) {
    case PointLoss::mse:
      loss_backward_kernel<PointLoss::mse><<<grid, kThreads, 0, s>>>(d, pred, target, n, g, loss.margin);
      break;
    case PointLoss::l1:
      loss_backward_kernel<PointLoss::l1><<<grid, kThreads, 0, s>>>(d, pred, target, n, g, loss.margin);
      break;
    case PointLoss::ab:
      loss_backward_kernel<PointLoss::ab><<<grid, kThreads, 0, s>>>(d, pred, target, n, g, loss.margin);
      break;
  }
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
