// Fused Adam/AdamW over many tensors in one launch, global gradient norm, gradient scaling.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/optim.hpp"

namespace sdkd::gpu {

namespace {

// Tensors per launch: their pointers travel in the kernel's parameter block (<= 4 KiB).
constexpr int kChunk = 48;

struct AdamBatch {
  AdamTensor t[kChunk];
  int count;
};

// blockIdx.y picks the tensor; the x dimension strides over its elements.
__global__ void adam_kernel(AdamBatch b, AdamScalars s) {
  if (int(blockIdx.y) >= b.count) return;
  const AdamTensor t = b.t[blockIdx.y];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < t.n; i += int64_t(gridDim.x) * blockDim.x) {
    float w = t.w[i], gi = t.g[i];
    if (s.decoupled) w -= s.lr_wd * w;
    else gi += s.wd * w;
    const float m = s.beta1 * t.m[i] + s.one_minus_beta1 * gi;
    const float v = s.beta2 * t.v[i] + s.one_minus_beta2 * gi * gi;
    const float denom = sqrtf(v) * s.inv_sqrt_bc2 + s.eps;
    t.m[i] = m;
    t.v[i] = v;
    t.w[i] = w - s.step_size * m / denom;
  }
}

constexpr int kNormThreads = 256;
constexpr int64_t kNormBlockElems = 64 * 1024;  // elements per partial sum

// One partial per (tensor, block of kNormBlockElems): the partition depends only on sizes, so
// the final ordered sum is the same on every run.
__global__ void sq_partial_kernel(const float* x, int64_t n, double* partial) {
  __shared__ double scratch[32];
  const int64_t start = int64_t(blockIdx.x) * kNormBlockElems;
  const int64_t end = min(n, start + kNormBlockElems);
  double acc = 0;
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) acc += double(x[i]) * double(x[i]);
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void ordered_sum_kernel(const double* partial, int64_t n, double* out) {
  __shared__ double scratch[32];
  // Each thread sums a fixed strided subset; the block reduction order is fixed too.
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) out[0] = acc;
}

__global__ void scale_kernel(float* x, int64_t n, float s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    x[i] *= s;
}

int64_t blocks_for(int64_t n) { return std::max<int64_t>(1, (n + kNormBlockElems - 1) / kNormBlockElems); }

}  // namespace

void adam_step(const ExecContext& ctx, const std::vector<AdamTensor>& tensors, const AdamScalars& s) {
  for (size_t first = 0; first < tensors.size(); first += kChunk) {
    AdamBatch b{};
    b.count = int(std::min<size_t>(kChunk, tensors.size() - first));
    int64_t largest = 1;
    for (int i = 0; i < b.count; ++i) {
      b.t[i] = tensors[first + size_t(i)];
      largest = std::max(largest, b.t[i].n);
    }
    const dim3 grid(grid_for(largest, kThreads, 1024), unsigned(b.count));
    adam_kernel<<<grid, kThreads, 0, stream_of(ctx)>>>(b, s);
    SDKD_CUDA_LAUNCH_CHECK();
  }
}

double sq_norm(const ExecContext& ctx, const std::vector<std::pair<const float*, int64_t>>& tensors) {
  // workspace[0] receives the total; then one partial per block of every tensor, in order.
  int64_t doubles = 1;
  for (const auto& t : tensors) doubles += blocks_for(t.second);
  const Workspace partials(ctx, size_t(doubles) * sizeof(double));
  double* workspace = partials.as<double>();
  cudaStream_t st = stream_of(ctx);
  int64_t at = 1;
  for (const auto& [ptr, n] : tensors) {
    const int64_t blocks = blocks_for(n);
    if (n > 0) {
      sq_partial_kernel<<<unsigned(blocks), kNormThreads, 0, st>>>(ptr, n, workspace + at);
      SDKD_CUDA_LAUNCH_CHECK();
    } else {
      SDKD_CUDA_CHECK(cudaMemsetAsync(workspace + at, 0, sizeof(double) * size_t(blocks), st));
    }
    at += blocks;
  }
  ordered_sum_kernel<<<1, 1024, 0, st>>>(workspace + 1, at - 1, workspace);
  SDKD_CUDA_LAUNCH_CHECK();
  double out = 0;
  SDKD_CUDA_CHECK(cudaMemcpyAsync(&out, workspace, sizeof(double), cudaMemcpyDeviceToHost, st));
  SDKD_CUDA_CHECK(cudaStreamSynchronize(st));
  return out;
}

void scale_(const ExecContext& ctx, float* x, int64_t n, float s) {
  if (n == 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(x, n, s);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
