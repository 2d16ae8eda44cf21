// Pointwise kernels. All are memory bound, so the work is in the access pattern: contiguous
// operands go through float4 loads (a scalar tail covers n % 4), a one-element operand is read
// once per thread, and broadcast or strided operands are indexed through a view whose
// dimensions were merged on the host wherever both operands allow it (fewer div/mod per
// element). The formulas are kernels/common/unary_ops.hpp and binary_ops.hpp, shared with the
// CPU and evaluated here in float with the accurate library functions (no fast-math
// intrinsics); that header says where a float formula takes a double step or differs.
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.hpp"

namespace sdkd::gpu {

namespace {

// ---- index helpers ----

// Two operands seen through one shape; dims merged where both operands are contiguous
// across the boundary, size-1 dims dropped (they carry no offset).
struct PairView {
  int nd = 0;
  int64_t shape[kMaxDims] = {};
  int64_t sa[kMaxDims] = {};
  int64_t sb[kMaxDims] = {};
};

PairView coalesce(const StridedView& va, const StridedView& vb) {
  PairView p;
  for (int d = 0; d < va.ndim; ++d) {
    const int64_t n = va.shape[d];
    if (n == 1) continue;
    if (p.nd > 0) {
      const int k = p.nd - 1;
      if (p.sa[k] == va.strides[d] * n && p.sb[k] == vb.strides[d] * n) {
        p.shape[k] *= n;
        p.sa[k] = va.strides[d];
        p.sb[k] = vb.strides[d];
        continue;
      }
    }
    p.shape[p.nd] = n;
    p.sa[p.nd] = va.strides[d];
    p.sb[p.nd] = vb.strides[d];
    ++p.nd;
  }
  return p;
}

__device__ __forceinline__ void pair_offsets(const PairView& v, int64_t i, int64_t& oa, int64_t& ob) {
  oa = 0;
  ob = 0;
  for (int d = v.nd - 1; d >= 0; --d) {
    const int64_t idx = i % v.shape[d];
    i /= v.shape[d];
    oa += idx * v.sa[d];
    ob += idx * v.sb[d];
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

__device__ __forceinline__ int64_t thread_index() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ int64_t thread_count() { return int64_t(gridDim.x) * blockDim.x; }

// ---- the functions (the shared formulas as device functors) ----

template <BinaryOp K>
struct Bin {
  __device__ __forceinline__ float operator()(float x, float y) const { return kern::binary_value<K>(x, y); }
};

template <UnaryOp K>
struct Fwd {
  double p;
  __device__ __forceinline__ float operator()(float x) const { return kern::unary_value<K, float>(x, p); }
};

// g * f'(x, y). kX/kY say which saved tensor the derivative reads, so the kernel loads only those.
template <UnaryOp K>
struct Bwd {
  static constexpr bool kY = kern::unary_slope_reads_y(K);
  static constexpr bool kX = !kY;
  double p;
  __device__ __forceinline__ float operator()(float g, float x, float y) const {
    return g * kern::unary_slope<K, float>(x, y, p);
  }
};

// ---- kernels ----

__device__ __forceinline__ float4 ld4(const float* p, int64_t i) { return reinterpret_cast<const float4*>(p)[i]; }
__device__ __forceinline__ void st4(float* p, int64_t i, float4 v) { reinterpret_cast<float4*>(p)[i] = v; }

// `vec`: the caller checked 16-byte alignment; the first n % 4 threads past the vectors do the tail.
template <class F>
__global__ void map2_kernel(float* out, const float* a, const float* b, int64_t n, bool vec, F f) {
  const int64_t t0 = thread_index(), step = thread_count();
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n >> 2;
    for (int64_t i = t0; i < n4; i += step) {
      const float4 x = ld4(a, i), y = ld4(b, i);
      st4(out, i, make_float4(f(x.x, y.x), f(x.y, y.y), f(x.z, y.z), f(x.w, y.w)));
    }
    done = n4 << 2;
  }
  for (int64_t i = done + t0; i < n; i += step) out[i] = f(a[i], b[i]);
}

// One operand is a single element (read once); kLeft: it is the left operand.
template <bool kLeft, class F>
__global__ void map2_scalar_kernel(float* out, const float* a, const float* s_ptr, int64_t n, bool vec, F f) {
  const float s = *s_ptr;
  auto g = [&](float x) { return kLeft ? f(s, x) : f(x, s); };
  const int64_t t0 = thread_index(), step = thread_count();
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n >> 2;
    for (int64_t i = t0; i < n4; i += step) {
      const float4 x = ld4(a, i);
      st4(out, i, make_float4(g(x.x), g(x.y), g(x.z), g(x.w)));
    }
    done = n4 << 2;
  }
  for (int64_t i = done + t0; i < n; i += step) out[i] = g(a[i]);
}

template <class F>
__global__ void map2_strided_kernel(float* out, const float* a, const float* b, PairView v, int64_t n, F f) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    int64_t oa, ob;
    pair_offsets(v, i, oa, ob);
    out[i] = f(a[oa], b[ob]);
  }
}

template <class F>
__global__ void map1_kernel(float* y, const float* x, int64_t n, bool vec, F f) {
  const int64_t t0 = thread_index(), step = thread_count();
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n >> 2;
    for (int64_t i = t0; i < n4; i += step) {
      const float4 v = ld4(x, i);
      st4(y, i, make_float4(f(v.x), f(v.y), f(v.z), f(v.w)));
    }
    done = n4 << 2;
  }
  for (int64_t i = done + t0; i < n; i += step) y[i] = f(x[i]);
}

template <class F>
__global__ void backward_kernel(float* dx, const float* g, const float* x, const float* y, int64_t n, bool vec, F f) {
  const int64_t t0 = thread_index(), step = thread_count();
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n >> 2;
    for (int64_t i = t0; i < n4; i += step) {
      const float4 gv = ld4(g, i);
      float4 xv = make_float4(0, 0, 0, 0), yv = xv;
      if constexpr (F::kX) xv = ld4(x, i);
      if constexpr (F::kY) yv = ld4(y, i);
      st4(dx, i, make_float4(f(gv.x, xv.x, yv.x), f(gv.y, xv.y, yv.y), f(gv.z, xv.z, yv.z), f(gv.w, xv.w, yv.w)));
    }
    done = n4 << 2;
  }
  for (int64_t i = done + t0; i < n; i += step) dx[i] = f(g[i], F::kX ? x[i] : 0.0f, F::kY ? y[i] : 0.0f);
}

__global__ void copy_view_kernel(float* dst, const float* src, PairView v, int64_t n) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    int64_t od, os;
    pair_offsets(v, i, od, os);
    dst[od] = src[os];
  }
}

// ---- launchers ----

unsigned blocks_for(int64_t n, bool vec) { return grid_for(vec ? (n + 3) / 4 : n); }

template <class F>
void launch_binary(const ExecContext& ctx, float* out, const float* a, const float* b, const PairView& v, int64_t n,
                   F f) {
  cudaStream_t s = stream_of(ctx);
  // After merging, a contiguous operand is one dim of stride 1 and a broadcast scalar one
  // dim of stride 0 (or no dims at all when n == 1).
  const bool one = v.nd <= 1;
  const int64_t sa = v.nd == 1 ? v.sa[0] : 1, sb = v.nd == 1 ? v.sb[0] : 1;
  if (one && sa == 1 && sb == 1) {
    const bool vec = aligned16(out) && aligned16(a) && aligned16(b);
    map2_kernel<<<blocks_for(n, vec), kThreads, 0, s>>>(out, a, b, n, vec, f);
  } else if (one && sa == 1 && sb == 0) {
    const bool vec = aligned16(out) && aligned16(a);
    map2_scalar_kernel<false><<<blocks_for(n, vec), kThreads, 0, s>>>(out, a, b, n, vec, f);
  } else if (one && sa == 0 && sb == 1) {
    const bool vec = aligned16(out) && aligned16(b);
    map2_scalar_kernel<true><<<blocks_for(n, vec), kThreads, 0, s>>>(out, b, a, n, vec, f);
  } else {
    map2_strided_kernel<<<grid_for(n), kThreads, 0, s>>>(out, a, b, v, n, f);
  }
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace

void binary(const ExecContext& ctx, float* out, const float* a, const StridedView& va, const float* b,
            const StridedView& vb, int64_t n, BinaryOp op) {
  if (n == 0) return;
  SDKD_CHECK(va.ndim == vb.ndim, "elementwise op: operand views of ", va.ndim, " and ", vb.ndim, " dims");
  const PairView v = coalesce(va, vb);
  kern::visit_binary(op, [&](auto k) { launch_binary(ctx, out, a, b, v, n, Bin<decltype(k)::value>{}); });
}

void unary(const ExecContext& ctx, float* y, const float* x, int64_t n, UnaryOp op, double param) {
  if (n == 0) return;
  const bool vec = aligned16(y) && aligned16(x);
  kern::visit_unary(op, [&](auto k) {
    map1_kernel<<<blocks_for(n, vec), kThreads, 0, stream_of(ctx)>>>(y, x, n, vec, Fwd<decltype(k)::value>{param});
    SDKD_CUDA_LAUNCH_CHECK();
  });
}

void unary_backward(const ExecContext& ctx, float* dx, const float* g, const float* x, const float* y, int64_t n,
                    UnaryOp op, double param) {
  if (n == 0) return;
  const bool vec = aligned16(dx) && aligned16(g) && aligned16(x) && aligned16(y);
  kern::visit_unary(op, [&](auto k) {
    backward_kernel<<<blocks_for(n, vec), kThreads, 0, stream_of(ctx)>>>(dx, g, x, y, n, vec,
                                                                           Bwd<decltype(k)::value>{param});
    SDKD_CUDA_LAUNCH_CHECK();
  });
}

void copy_view(const ExecContext& ctx, float* dst, const StridedView& dv, const float* src, const StridedView& sv,
               int64_t n) {
  if (n == 0) return;
  SDKD_CHECK(dv.ndim == sv.ndim, "copy_view: views of ", dv.ndim, " and ", sv.ndim, " dims");
  for (int d = 0; d < dv.ndim; ++d)
    SDKD_CHECK(dv.shape[d] == sv.shape[d], "copy_view: shapes differ in dim ", d, " (", dv.shape[d], " vs ",
               sv.shape[d], ")");
  copy_view_kernel<<<grid_for(n), kThreads, 0, stream_of(ctx)>>>(dst, src, coalesce(dv, sv), n);
  SDKD_CUDA_LAUNCH_CHECK();
}

}  // namespace sdkd::gpu
