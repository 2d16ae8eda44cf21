#pragma once
// Vendor-library yardsticks on the GPU: cuDNN (convolutions, batch norm, softmax) and cuBLAS
// with TF32 tensor-core math (our TF32 GEMM's yardstick; the fp32 one is the engine's own
// cuBLAS backend). Plain C++: the CUDA types stay in vendor.cpp.
//
// The calls run on the legacy default stream, not the engine's (which the public API does not
// expose), and each ends with a device-wide synchronisation, so the harness's "synchronize,
// start the clock, run, synchronize" bracket times them exactly like the engine's ops.
// Pointers are device pointers from CUDA tensors (Tensor::data<float>()); workspaces are
// engine tensors too, so the bench never calls cudaMalloc itself (cuDNN's Find does, once).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sdkd::bench::vendor {

// "" when the yardstick can run, else what to print in the ratio column.
std::string cudnn_missing();
std::string cublas_missing();

struct ConvDesc {
  int64_t N = 1, C_in = 1, H = 1, W = 1, C_out = 1;
  int k = 1, stride = 1, pad = 0, dil = 1, groups = 1;
  bool tf32 = false;  // allow tensor-core TF32 (else FMA-only fp32, matching our SIMT path)
};

// conv2d in cuDNN with the fastest algorithm cudnnFind* reports for each direction.
class CudnnConv {
 public:
  explicit CudnnConv(const ConvDesc& d);
  ~CudnnConv();
  size_t workspace_bytes() const;  // the largest of the three chosen algorithms
  void set_workspace(void* ws);
  void forward(const float* x, const float* w, float* y);
  void backward_data(const float* dy, const float* w, float* dx);
  void backward_filter(const float* x, const float* dy, float* dw);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Training-mode spatial batch norm: forward (batch statistics, running update) and backward.
class CudnnBatchNorm {
 public:
  CudnnBatchNorm(int64_t N, int64_t C, int64_t H, int64_t W);
  ~CudnnBatchNorm();
  void forward(const float* x, const float* gamma, const float* beta, float* y, float* run_mean, float* run_var,
               float* save_mean, float* save_invstd);
  void backward(const float* x, const float* dy, const float* gamma, float* dx, float* dgamma, float* dbeta,
                const float* save_mean, const float* save_invstd);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Softmax over the last dimension of a (rows, cols) array.
class CudnnSoftmax {
 public:
  CudnnSoftmax(int64_t rows, int64_t cols);
  ~CudnnSoftmax();
  void forward(const float* x, float* y);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Row-major C (M x N) = A (M x K) B (K x N) through cublasSgemm with TF32 tensor-op math.
void cublas_tf32_gemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);

}  // namespace sdkd::bench::vendor
