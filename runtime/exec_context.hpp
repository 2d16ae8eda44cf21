#pragma once
// The execution context every CUDA launcher takes as its first argument: which device, the
// stream and cuBLAS handle to launch on, the engine's choices that change how a kernel computes
// (GEMM backend, deterministic reductions), the device attributes kernels pick tile shapes
// from, and where launch-local scratch memory comes from. The engine's device object builds it
// (engine/src/cuda_context.hpp, from the tensor's device and the engine's settings) and passes
// it down; no launcher reads a process global, so two contexts (two devices, later two
// streams) can drive the same kernels. Plain C++: the stream and handle are opaque here and
// cast back in runtime/cuda_check.cuh, so the engine's host compiler can include this file.
#include <cstddef>
#include <cstdint>

#include "sdkd/dtype.hpp"

namespace sdkd::gpu {

struct ExecContext {
  int device = 0;
  void* stream = nullptr;  // cudaStream_t of `device`: every launch and async copy goes here
  void* blas = nullptr;    // cublasHandle_t bound to `stream`, created on first use
  GemmBackend gemm = GemmBackend::simt;
  bool deterministic = false;  // fixed-order reductions instead of atomics
  // Device attributes, queried once per device by the runtime.
  int sm_count = 1;
  int cc_major = 0;
  int max_smem_optin = 0;  // bytes of shared memory a block may opt in to
};

// The context of `device` with the given settings: its stream, its (lazily created) cuBLAS
// handle and its cached attributes. Implemented by the runtime (runtime/runtime.cu).
ExecContext make_context(int device, GemmBackend gemm, bool deterministic);

// Launch-local scratch memory from the device's stream-ordered caching allocator. Freed when
// the object goes out of scope: the block goes back to the pool, and any later kernel that
// reuses it runs after this launch on the same stream, so no synchronisation is needed. Inside
// a CUDA-graph capture it comes from the graph's pool like every other allocation.
class Workspace {
 public:
  Workspace(const ExecContext& ctx, size_t bytes);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

}  // namespace sdkd::gpu
