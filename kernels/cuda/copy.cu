// Fill, strided copy and random fills. Each thread handles elements in a grid-stride loop; the
// strided copy decomposes the linear index once per element (the views here are small-rank).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/copy.hpp"
#include "sdkd/rng.hpp"

namespace sdkd::gpu {

StridedView make_view(const Shape& shape, const Shape& strides, const char* op) {
  SDKD_CHECK(shape.size() <= size_t(kMaxDims), op, ": CUDA kernels take at most ", kMaxDims,
             " dimensions, got ", shape.size());
  StridedView v;
  v.ndim = int(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    v.shape[i] = shape[i];
    v.strides[i] = strides[i];
  }
  return v;
}

namespace {

template <class T>
__global__ void fill_kernel(T* dst, int64_t n, T value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = value;
}

__device__ __forceinline__ int64_t strided_offset(const StridedView& v, int64_t i) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % v.shape[d];
    i /= v.shape[d];
    off += idx * v.strides[d];
  }
  return off;
}

template <class D, class S>
__global__ void copy_kernel(D* dst, const S* src, StridedView v, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = D(src[strided_offset(v, i)]);
}

template <class T>
__global__ void random_kernel(T* dst, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, RandomKind kind) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t idx = base + uint64_t(i);
    // Same expressions as Tensor::randn / Tensor::rand so both devices give the same numbers.
    dst[i] = kind == RandomKind::normal ? T(Philox::normal(seed, stream, idx)) : T(1.0 - Philox::uniform(seed, stream, idx));
  }
}

__global__ void mask_kernel(float* dst, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, double p, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = Philox::uniform(seed, stream, base + uint64_t(i)) > p ? scale : 0.0f;
}

}  // namespace

void fill(const ExecContext& ctx, void* dst, DType dtype, int64_t n, double value) {
  if (n == 0) return;
  if (dtype == DType::f32)
    fill_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(static_cast<float*>(dst), n, float(value));
  else
    fill_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(static_cast<double*>(dst), n, value);
  SDKD_CUDA_LAUNCH_CHECK();
}

void copy_strided(const ExecContext& ctx, void* dst, DType dst_dtype, const void* src, DType src_dtype, const StridedView& view, int64_t n) {
  if (n == 0) return;
  cudaStream_t s = stream_of(ctx);
  const unsigned g = grid_for(n);
  if (dst_dtype == DType::f32 && src_dtype == DType::f32)
    copy_kernel<<<g, kThreads, 0, s>>>(static_cast<float*>(dst), static_cast<const float*>(src), view, n);
  else if (dst_dtype == DType::f32)
    copy_kernel<<<g, kThreads, 0, s>>>(static_cast<float*>(dst), static_cast<const double*>(src), view, n);
  else if (src_dtype == DType::f32)
    copy_kernel<<<g, kThreads, 0, s>>>(static_cast<double*>(dst), static_cast<const float*>(src), view, n);
  else
    copy_kernel<<<g, kThreads, 0, s>>>(static_cast<double*>(dst), static_cast<const double*>(src), view, n);
  SDKD_CUDA_LAUNCH_CHECK();
}

void fill_random(const ExecContext& ctx, void* dst, DType dtype, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, RandomKind kind) {
  if (n == 0) return;
  if (dtype == DType::f32)
    random_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(static_cast<float*>(dst), n, seed, stream, base, kind);
  else
    random_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(static_cast<double*>(dst), n, seed, stream, base, kind);
  SDKD_CUDA_LAUNCH_CHECK();
}

void fill_bernoulli_mask(const ExecContext& ctx, float* dst, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, double p, double scale) {
  if (n == 0) return;
  mask_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(dst, n, seed, stream, base, p, float(scale));
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
