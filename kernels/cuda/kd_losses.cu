// AB loss: one pass of per-block double partial sums, one block that adds them in order, and
// an elementwise backward with the CPU twin's double expressions (so the gradient agrees
// with the CPU bit for bit).
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kd_losses.hpp"

namespace sdkd::gpu {

namespace {

constexpr int64_t kChunk = 4096, kMaxChunks = 1024;

int64_t chunks_for(int64_t n) { return std::clamp<int64_t>((n + kChunk - 1) / kChunk, 1, kMaxChunks); }

// The hinge of one element and whether the teacher neuron fires.
__device__ __forceinline__ double hinge(float s, float t, double mu, bool& fires) {
  fires = t > 0.0f;
  return fmax(0.0, fires ? mu - double(s) : mu + double(s));
}

__global__ void partial_kernel(double* partial, const float* s, const float* t, int64_t n, int64_t len, double mu) {
  __shared__ double scratch[32];
  const int64_t begin = blockIdx.x * len, end = min(n, begin + len);
  double acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    bool fires;
    const double h = hinge(s[i], t[i], mu, fires);
    acc += h * h;
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void finish_kernel(float* out, const double* partial, int64_t chunks, int64_t n) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc += partial[c];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) out[0] = float(acc / double(n));
}

__global__ void backward_kernel(float* ds, const float* s, const float* t, int64_t n, double mu, const float* g) {
  const double scale = double(*g) / double(n);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    bool fires;
    const double h = hinge(s[i], t[i], mu, fires);
    ds[i] = float((fires ? -2.0 : 2.0) * h * scale);
  }
}

}  // namespace

int64_t ab_loss_workspace(int64_t n) { return chunks_for(n); }

void ab_loss(float* out, const float* s, const float* t, int64_t n, double margin, double* workspace) {
  SDKD_CHECK(n > 0, "ab_loss: empty input");
  const int64_t chunks = chunks_for(n), len = (n + chunks - 1) / chunks;
  cudaStream_t st = cuda_rt::stream();
  partial_kernel<<<unsigned(chunks), kThreads, 0, st>>>(workspace, s, t, n, len, margin);
  SDKD_CUDA_LAUNCH_CHECK();
  finish_kernel<<<1, kThreads, 0, st>>>(out, workspace, chunks, n);
  SDKD_CUDA_LAUNCH_CHECK();
}

void ab_loss_backward(float* ds, const float* s, const float* t, int64_t n, double margin, const float* g) {
  if (n == 0) return;
  backward_kernel<<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(ds, s, t, n, margin, g);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
