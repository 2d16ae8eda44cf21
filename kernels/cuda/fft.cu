// rfft2 / irfft2 on the GPU: cuFFT does the transforms, two small kernels do what cuFFT does not
// (the orthonormal scaling, the column weights of the autograd adjoints, and the Hermitian
// projection that makes the complex-to-real transform well defined for any input).
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fft.hpp"

namespace sdkd::gpu {

namespace {

// ---------------------------------------------------------------------------------------------
// Plan cache. One plan per (H, W, batch, type, device, stream); executions also take the
// mutex, because cuFFT is only thread-safe across different plans.

struct PlanKey {
  int H, W, batch;
  cufftType type;
  int device;
  cudaStream_t stream;
  bool operator<(const PlanKey& o) const {
    return std::tie(H, W, batch, type, device, stream) < std::tie(o.H, o.W, o.batch, o.type, o.device, o.stream);
  }
};

std::mutex& plan_mutex() {
  static std::mutex m;
  return m;
}

std::map<PlanKey, cufftHandle>& plan_cache() {
  static auto* cache = new std::map<PlanKey, cufftHandle>();  // never destroyed: the CUDA context may be gone at exit
  return *cache;
}

bool is_forward(cufftType t) { return t == CUFFT_R2C || t == CUFFT_D2Z; }

// Caller holds plan_mutex().
cufftHandle plan_locked(const ExecContext& ctx, int H, int W, int batch, cufftType type) {
  const cudaStream_t stream = stream_of(ctx);
  const PlanKey key{H, W, batch, type, ctx.device, stream};
  auto& cache = plan_cache();
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  const int Wc = W / 2 + 1;
  // A single row is a rank-1 transform over W (cuFFT's rank-2 plans want both sizes >= 2).
  const int rank = H == 1 ? 1 : 2;
  int n[2] = {H, W}, real_embed[2] = {H, W}, cplx_embed[2] = {H, Wc};
  int* n_ptr = rank == 1 ? n + 1 : n;
  int* real_ptr = rank == 1 ? real_embed + 1 : real_embed;
  int* cplx_ptr = rank == 1 ? cplx_embed + 1 : cplx_embed;
  const int real_dist = H * W, cplx_dist = H * Wc;

  cufftHandle h = 0;
  SDKD_CUFFT_CHECK(cufftCreate(&h));
  size_t work = 0;
  const cufftResult r =
      is_forward(type)
          ? cufftMakePlanMany(h, rank, n_ptr, real_ptr, 1, real_dist, cplx_ptr, 1, cplx_dist, type, batch, &work)
          : cufftMakePlanMany(h, rank, n_ptr, cplx_ptr, 1, cplx_dist, real_ptr, 1, real_dist, type, batch, &work);
  if (r == CUFFT_SUCCESS) {
    const cufftResult rs = cufftSetStream(h, stream);
    if (rs == CUFFT_SUCCESS) {
      cache.emplace(key, h);
      return h;
    }
    cufftDestroy(h);
    SDKD_CUFFT_CHECK(rs);
  }
  cufftDestroy(h);
  throw Error(str_cat("cuFFT plan for ", batch, " maps of ", H, " x ", W, " (type ", int(type),
                      ") failed: ", cuda_rt::cufft_error_string(r)));
}

void check_sizes(int64_t batch, int H, int W, const char* op) {
  SDKD_CHECK(batch >= 0 && H >= 1 && W >= 2, op, ": expected batch >= 0, H >= 1 and W >= 2 on CUDA, got batch ", batch,
             ", H ", H, ", W ", W, " (a width-1 map has no real-to-complex transform in cuFFT: run it on the CPU)");
  SDKD_CHECK(int64_t(H) * W <= (int64_t(1) << 30), op, ": map of ", H, " x ", W, " is too large for one cuFFT plan");
}

// Maps per cuFFT call: keeps every plan's element count well inside 32-bit indexing. Even
// (when split) so that every chunk's real-data pointer stays 8-byte aligned.
int64_t chunk_for(int64_t batch, int H, int W) {
  const int64_t per_map = int64_t(H) * (W / 2 + 1) * 2;
  int64_t c = std::max<int64_t>(1, (int64_t(1) << 28) / per_map);
  if (c >= batch) return batch;
  if (c > 1 && c % 2 == 1) --c;
  return c;
}

// Runs the transform over `batch` maps in chunks; `exec(plan, in_offset_maps)`.
template <class Exec>
void run_chunks(const ExecContext& ctx, int64_t batch, int H, int W, cufftType type, Exec exec) {
  const int64_t chunk = chunk_for(batch, H, W);
  std::lock_guard<std::mutex> lock(plan_mutex());
  for (int64_t first = 0; first < batch; first += chunk) {
    const int64_t count = std::min(chunk, batch - first);
    exec(plan_locked(ctx, H, W, int(count), type), first);
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels.

__device__ __forceinline__ bool paired_column(int l, int W) { return l >= 1 && 2 * l < W; }

// X (n complex bins, rows of Wc) *= `self` on self-conjugate columns, `paired` on the others.
__global__ void scale_columns_kernel(float2* X, int64_t n, int Wc, int W, float self, float paired) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float s = paired_column(int(i % Wc), W) ? paired : self;
    float2 v = X[i];
    v.x *= s;
    v.y *= s;
    X[i] = v;
  }
}

// out = the spectrum cuFFT's C2R should see: the self-conjugate columns replaced by their
// Hermitian part along H, (z_k + conj(z_{-k})) / 2 (so C2R reads exactly the real part of the
// column transform, as the CPU does), then scaled (times *dev_factor when given).
__global__ void prepare_c2r_kernel(const float2* X, float2* out, int64_t n, int H, int Wc, int W, float self,
                                   float paired, const float* dev_factor) {
  const float extra = dev_factor != nullptr ? *dev_factor : 1.0f;
  const int64_t plane = int64_t(H) * Wc;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int l = int(i % Wc);
    const float2 z = X[i];
    float2 v;
    if (paired_column(l, W)) {
      v.x = z.x * paired;
      v.y = z.y * paired;
    } else {
      const int64_t map = i / plane;
      const int k = int((i / Wc) % H);
      const int km = k == 0 ? 0 : H - k;
      const float2 zm = X[map * plane + int64_t(km) * Wc + l];
      v.x = 0.5f * (z.x + zm.x) * self;
      v.y = 0.5f * (z.y - zm.y) * self;
    }
    if (dev_factor != nullptr) {
      v.x *= extra;
      v.y *= extra;
    }
    out[i] = v;
  }
}

}  // namespace

void rfft2_ortho(const ExecContext& ctx, const float* x, float* X, int64_t batch, int H, int W, int column_power) {
  check_sizes(batch, H, W, "rfft2 (CUDA)");
  SDKD_CHECK(column_power >= -1 && column_power <= 1, "rfft2 (CUDA): column_power must be -1, 0 or 1, got ",
             column_power);
  if (batch == 0) return;
  const int Wc = W / 2 + 1;
  run_chunks(ctx, batch, H, W, CUFFT_R2C, [&](cufftHandle plan, int64_t first) {
    SDKD_CUFFT_CHECK(cufftExecR2C(plan, const_cast<cufftReal*>(x + first * H * W),
                                  reinterpret_cast<cufftComplex*>(X + first * H * Wc * 2)));
  });
  const double base = 1.0 / std::sqrt(double(H) * double(W));
  const double paired = column_power > 0 ? 2.0 * base : column_power < 0 ? 0.5 * base : base;
  const int64_t n = batch * H * Wc;
  scale_columns_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(reinterpret_cast<float2*>(X), n, Wc, W,
                                                                         float(base), float(paired));
  SDKD_CUDA_LAUNCH_CHECK();
}

void irfft2_ortho(const ExecContext& ctx, const float* X, float* x, int64_t batch, int H, int W,
                  bool divide_by_weights, double factor, const float* device_factor) {
  check_sizes(batch, H, W, "irfft2 (CUDA)");
  if (batch == 0) return;
  const int Wc = W / 2 + 1;
  const int64_t n = batch * H * Wc;
  // The prepared spectrum, which cuFFT's complex-to-real transform destroys (X stays intact).
  const Workspace prepared(ctx, size_t(n) * 2 * sizeof(float));
  float* scratch = prepared.as<float>();
  const double self = factor / std::sqrt(double(H) * double(W));
  const double paired = divide_by_weights ? 0.5 * self : self;
  prepare_c2r_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(
      reinterpret_cast<const float2*>(X), reinterpret_cast<float2*>(scratch), n, H, Wc, W, float(self), float(paired),
      device_factor);
  SDKD_CUDA_LAUNCH_CHECK();
  run_chunks(ctx, batch, H, W, CUFFT_C2R, [&](cufftHandle plan, int64_t first) {
    SDKD_CUFFT_CHECK(cufftExecC2R(plan, reinterpret_cast<cufftComplex*>(scratch + first * H * Wc * 2),
                                  x + first * H * W));
  });
}

void rfft2_f64_raw(const ExecContext& ctx, const double* x, double* X, int64_t batch, int H, int W) {
  check_sizes(batch, H, W, "rfft2 (CUDA, float64)");
  if (batch == 0) return;
  const int Wc = W / 2 + 1;
  run_chunks(ctx, batch, H, W, CUFFT_D2Z, [&](cufftHandle plan, int64_t first) {
    SDKD_CUFFT_CHECK(cufftExecD2Z(plan, const_cast<cufftDoubleReal*>(x + first * H * W),
                                  reinterpret_cast<cufftDoubleComplex*>(X + first * H * Wc * 2)));
  });
}

void irfft2_f64_raw_destructive(const ExecContext& ctx, double* X, double* x, int64_t batch, int H, int W) {
  check_sizes(batch, H, W, "irfft2 (CUDA, float64)");
  if (batch == 0) return;
  const int Wc = W / 2 + 1;
  run_chunks(ctx, batch, H, W, CUFFT_Z2D, [&](cufftHandle plan, int64_t first) {
    SDKD_CUFFT_CHECK(cufftExecZ2D(plan, reinterpret_cast<cufftDoubleComplex*>(X + first * H * Wc * 2),
                                  x + first * H * W));
  });
}

}  // namespace sdkd::gpu
