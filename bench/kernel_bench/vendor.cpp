// cuDNN and cuBLAS yardsticks (see vendor.hpp). Without CUDA or cuDNN at build time the
// classes exist but report themselves missing; the cases then print the reason instead of a ratio.
#include "bench/kernel_bench/vendor.hpp"

#include <algorithm>

#include "sdkd/error.hpp"

#ifdef SDKD_BENCH_CUBLAS
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif
#ifdef SDKD_BENCH_CUDNN
#include <cudnn.h>
#endif

namespace sdkd::bench::vendor {

#ifdef SDKD_BENCH_CUBLAS
namespace {
void cuda_check(cudaError_t e, const char* what) {
  SDKD_CHECK(e == cudaSuccess, "bench yardstick: ", what, ": ", cudaGetErrorString(e));
}
void device_sync() { cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }
}  // namespace
#endif

#ifdef SDKD_BENCH_CUDNN
namespace {
void dnn_check(cudnnStatus_t s, const char* what) {
  SDKD_CHECK(s == CUDNN_STATUS_SUCCESS, "bench yardstick: ", what, ": ", cudnnGetErrorString(s));
}
cudnnHandle_t dnn() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t x = nullptr;
    dnn_check(cudnnCreate(&x), "cudnnCreate");
    return x;
  }();
  return h;
}
cudnnTensorDescriptor_t tensor4(int64_t n, int64_t c, int64_t h, int64_t w) {
  cudnnTensorDescriptor_t d;
  dnn_check(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
  dnn_check(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(n), int(c), int(h), int(w)),
            "cudnnSetTensor4dDescriptor");
  return d;
}
}  // namespace

std::string cudnn_missing() { return ""; }

struct CudnnConv::Impl {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t ws_bytes = 0;
  void* ws = nullptr;
};

CudnnConv::CudnnConv(const ConvDesc& d) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const int64_t Ho = (d.H + 2 * d.pad - d.dil * (d.k - 1) - 1) / d.stride + 1;
  const int64_t Wo = (d.W + 2 * d.pad - d.dil * (d.k - 1) - 1) / d.stride + 1;
  m.x = tensor4(d.N, d.C_in, d.H, d.W);
  m.y = tensor4(d.N, d.C_out, Ho, Wo);
  dnn_check(cudnnCreateFilterDescriptor(&m.w), "cudnnCreateFilterDescriptor");
  dnn_check(cudnnSetFilter4dDescriptor(m.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(d.C_out), int(d.C_in / d.groups),
                                       d.k, d.k),
            "cudnnSetFilter4dDescriptor");
  dnn_check(cudnnCreateConvolutionDescriptor(&m.conv), "cudnnCreateConvolutionDescriptor");
  dnn_check(cudnnSetConvolution2dDescriptor(m.conv, d.pad, d.pad, d.stride, d.stride, d.dil, d.dil,
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            "cudnnSetConvolution2dDescriptor");
  dnn_check(cudnnSetConvolutionGroupCount(m.conv, d.groups), "cudnnSetConvolutionGroupCount");
  // FMA math keeps cuDNN to full fp32 (comparable to our SIMT path); tensor-op math allows TF32.
  dnn_check(cudnnSetConvolutionMathType(m.conv, d.tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH),
            "cudnnSetConvolutionMathType");
  int got = 0;
  cudnnConvolutionFwdAlgoPerf_t pf[8];
  dnn_check(cudnnFindConvolutionForwardAlgorithm(dnn(), m.x, m.w, m.conv, m.y, 8, &got, pf), "find forward");
  cudnnConvolutionBwdDataAlgoPerf_t pd[8];
  int got_d = 0;
  dnn_check(cudnnFindConvolutionBackwardDataAlgorithm(dnn(), m.w, m.y, m.conv, m.x, 8, &got_d, pd), "find bwd data");
  cudnnConvolutionBwdFilterAlgoPerf_t pw[8];
  int got_w = 0;
  dnn_check(cudnnFindConvolutionBackwardFilterAlgorithm(dnn(), m.x, m.y, m.conv, m.w, 8, &got_w, pw),
            "find bwd filter");
  // The first successful entry is the fastest (results are sorted by time).
  auto first_ok = [](auto* perf, int n, const char* what) {
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) return perf[i];
    throw Error(str_cat("bench yardstick: cuDNN found no algorithm for ", what));
  };
  const auto f = first_ok(pf, got, "conv forward");
  const auto bd = first_ok(pd, got_d, "conv backward data");
  const auto bf = first_ok(pw, got_w, "conv backward filter");
  m.fwd = f.algo, m.bwd_data = bd.algo, m.bwd_filter = bf.algo;
  m.ws_bytes = std::max({f.memory, bd.memory, bf.memory});
}

CudnnConv::~CudnnConv() {
  if (!impl_) return;
  cudnnDestroyTensorDescriptor(impl_->x);
  cudnnDestroyTensorDescriptor(impl_->y);
  cudnnDestroyFilterDescriptor(impl_->w);
  cudnnDestroyConvolutionDescriptor(impl_->conv);
}

size_t CudnnConv::workspace_bytes() const { return impl_->ws_bytes; }
void CudnnConv::set_workspace(void* ws) { impl_->ws = ws; }

void CudnnConv::forward(const float* x, const float* w, float* y) {
  const float one = 1, zero = 0;
  Impl& m = *impl_;
  dnn_check(cudnnConvolutionForward(dnn(), &one, m.x, x, m.w, w, m.conv, m.fwd, m.ws, m.ws_bytes, &zero, m.y, y),
            "cudnnConvolutionForward");
  device_sync();
}

void CudnnConv::backward_data(const float* dy, const float* w, float* dx) {
  const float one = 1, zero = 0;
  Impl& m = *impl_;
  dnn_check(cudnnConvolutionBackwardData(dnn(), &one, m.w, w, m.y, dy, m.conv, m.bwd_data, m.ws, m.ws_bytes, &zero,
                                         m.x, dx),
            "cudnnConvolutionBackwardData");
  device_sync();
}

void CudnnConv::backward_filter(const float* x, const float* dy, float* dw) {
  const float one = 1, zero = 0;
  Impl& m = *impl_;
  dnn_check(cudnnConvolutionBackwardFilter(dnn(), &one, m.x, x, m.y, dy, m.conv, m.bwd_filter, m.ws, m.ws_bytes,
                                           &zero, m.w, dw),
            "cudnnConvolutionBackwardFilter");
  device_sync();
}

struct CudnnBatchNorm::Impl {
  cudnnTensorDescriptor_t x = nullptr, stats = nullptr;
};

CudnnBatchNorm::CudnnBatchNorm(int64_t N, int64_t C, int64_t H, int64_t W) : impl_(std::make_unique<Impl>()) {
  impl_->x = tensor4(N, C, H, W);
  impl_->stats = tensor4(1, C, 1, 1);
}
CudnnBatchNorm::~CudnnBatchNorm() {
  cudnnDestroyTensorDescriptor(impl_->x);
  cudnnDestroyTensorDescriptor(impl_->stats);
}

void CudnnBatchNorm::forward(const float* x, const float* gamma, const float* beta, float* y, float* run_mean,
                             float* run_var, float* save_mean, float* save_invstd) {
  const float one = 1, zero = 0;
  dnn_check(cudnnBatchNormalizationForwardTraining(dnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, impl_->x, x,
                                                   impl_->x, y, impl_->stats, gamma, beta, 0.1, run_mean, run_var,
                                                   1e-5, save_mean, save_invstd),
            "cudnnBatchNormalizationForwardTraining");
  device_sync();
}

void CudnnBatchNorm::backward(const float* x, const float* dy, const float* gamma, float* dx, float* dgamma,
                              float* dbeta, const float* save_mean, const float* save_invstd) {
  const float one = 1, zero = 0;
  dnn_check(cudnnBatchNormalizationBackward(dnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, impl_->x, x,
                                            impl_->x, dy, impl_->x, dx, impl_->stats, gamma, dgamma, dbeta, 1e-5,
                                            save_mean, save_invstd),
            "cudnnBatchNormalizationBackward");
  device_sync();
}

struct CudnnSoftmax::Impl {
  cudnnTensorDescriptor_t x = nullptr;
};
CudnnSoftmax::CudnnSoftmax(int64_t rows, int64_t cols) : impl_(std::make_unique<Impl>()) {
  impl_->x = tensor4(rows, cols, 1, 1);
}
CudnnSoftmax::~CudnnSoftmax() { cudnnDestroyTensorDescriptor(impl_->x); }
void CudnnSoftmax::forward(const float* x, float* y) {
  const float one = 1, zero = 0;
  dnn_check(cudnnSoftmaxForward(dnn(), CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, &one, impl_->x, x, &zero,
                                impl_->x, y),
            "cudnnSoftmaxForward");
  device_sync();
}

#else  // no cuDNN in this build

std::string cudnn_missing() { return "cuDNN not available"; }
namespace {
[[noreturn]] void no_cudnn() { throw Error("bench: this sdkd-bench was built without cuDNN"); }
}  // namespace
struct CudnnConv::Impl {};
CudnnConv::CudnnConv(const ConvDesc&) { no_cudnn(); }
CudnnConv::~CudnnConv() = default;
size_t CudnnConv::workspace_bytes() const { return 0; }
void CudnnConv::set_workspace(void*) {}
void CudnnConv::forward(const float*, const float*, float*) { no_cudnn(); }
void CudnnConv::backward_data(const float*, const float*, float*) { no_cudnn(); }
void CudnnConv::backward_filter(const float*, const float*, float*) { no_cudnn(); }
struct CudnnBatchNorm::Impl {};
CudnnBatchNorm::CudnnBatchNorm(int64_t, int64_t, int64_t, int64_t) { no_cudnn(); }
CudnnBatchNorm::~CudnnBatchNorm() = default;
void CudnnBatchNorm::forward(const float*, const float*, const float*, float*, float*, float*, float*, float*) {
  no_cudnn();
}
void CudnnBatchNorm::backward(const float*, const float*, const float*, float*, float*, float*, const float*,
                              const float*) {
  no_cudnn();
}
struct CudnnSoftmax::Impl {};
CudnnSoftmax::CudnnSoftmax(int64_t, int64_t) { no_cudnn(); }
CudnnSoftmax::~CudnnSoftmax() = default;
void CudnnSoftmax::forward(const float*, float*) { no_cudnn(); }

#endif

#ifdef SDKD_BENCH_CUBLAS
std::string cublas_missing() { return ""; }

void cublas_tf32_gemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  static cublasHandle_t h = [] {
    cublasHandle_t x = nullptr;
    SDKD_CHECK(cublasCreate(&x) == CUBLAS_STATUS_SUCCESS, "bench yardstick: cublasCreate failed");
    SDKD_CHECK(cublasSetMathMode(x, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS,
               "bench yardstick: cublasSetMathMode(TF32) failed");
    return x;
  }();
  const float one = 1, zero = 0;
  // Row-major C = A B is column-major C^T = B^T A^T: swap the operands, no transposes.
  const cublasStatus_t s = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(N), int(M), int(K), &one, B, int(N), A,
                                       int(K), &zero, C, int(N));
  SDKD_CHECK(s == CUBLAS_STATUS_SUCCESS, "bench yardstick: cublasSgemm (TF32) failed with status ", int(s));
  device_sync();
}
#else
std::string cublas_missing() { return "cuBLAS not built"; }
void cublas_tf32_gemm(int64_t, int64_t, int64_t, const float*, const float*, float*) {
  throw Error("bench: this sdkd-bench was built without CUDA");
}
#endif

}  // namespace sdkd::bench::vendor
