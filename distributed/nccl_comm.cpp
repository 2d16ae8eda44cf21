#include "sdkd/distributed/nccl_comm.hpp"

#include "sdkd/device.hpp"
#include "sdkd/error.hpp"

#ifdef SDKD_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace sdkd::dist {

#ifdef SDKD_WITH_NCCL

namespace {

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw Error(str_cat("NCCL ", what, " failed: ", ncclGetErrorString(rc)));
}
void check_cuda(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw Error(str_cat("CUDA ", what, " failed (for NCCL): ", cudaGetErrorString(rc)));
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i32: return ncclInt32;
  }
  throw Error("NCCL: unsupported dtype");
}

void* device_ptr(Tensor& t) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>();
    case DType::f64: return t.data<double>();
    case DType::i32: return t.data<int32_t>();
  }
  return nullptr;
}

class Nccl final : public NcclComm {
 public:
  Nccl(int rank, int size, int device, const std::function<void(void*, size_t)>& bcast) : device_(device) {
    ncclUniqueId id{};
    if (rank == 0) check_nccl(ncclGetUniqueId(&id), "GetUniqueId");
    bcast(&id, sizeof id);
    check_cuda(cudaSetDevice(device_), "SetDevice");
    check_nccl(ncclCommInitRank(&comm_, size, id, rank), "CommInitRank");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "StreamCreate");
    check_cuda(cudaEventCreateWithFlags(&before_, cudaEventDisableTiming), "EventCreate");
    check_cuda(cudaEventCreateWithFlags(&after_, cudaEventDisableTiming), "EventCreate");
  }
  ~Nccl() override {
    cudaEventDestroy(before_);
    cudaEventDestroy(after_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }
  int device() const override { return device_; }

  void all_reduce_sum(Tensor& t) override {
    run(t, [&](void* p, size_t n) {
      return ncclAllReduce(p, p, n, nccl_type(t.dtype()), ncclSum, comm_, stream_);
    });
  }
  void broadcast(Tensor& t, int root) override {
    run(t, [&](void* p, size_t n) { return ncclBroadcast(p, p, n, nccl_type(t.dtype()), root, comm_, stream_); });
  }

 private:
  // compute stream -> before_ -> our stream: the collective -> after_ -> the compute stream.
  template <class F>
  void run(Tensor& t, F&& collective) {
    SDKD_CHECK(t.device().is_cuda() && t.device().index == device_, "NCCL: tensor on ", t.device().str(),
               ", the communicator is on cuda:", device_);
    SDKD_CHECK(t.is_contiguous(), "NCCL: the tensor must be contiguous");
    auto compute = static_cast<cudaStream_t>(cuda_stream_handle(device_));
    check_cuda(cudaEventRecord(before_, compute), "EventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, before_, 0), "StreamWaitEvent");
    check_nccl(collective(device_ptr(t), size_t(t.numel())), "collective");
    check_cuda(cudaEventRecord(after_, stream_), "EventRecord");
    check_cuda(cudaStreamWaitEvent(compute, after_, 0), "StreamWaitEvent");
  }
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t before_ = nullptr, after_ = nullptr;
};

}  // namespace

std::unique_ptr<NcclComm> make_nccl_comm(int rank, int size, int device,
                                         const std::function<void(void*, size_t)>& bcast) {
  return std::make_unique<Nccl>(rank, size, device, bcast);
}
bool built_with_nccl() { return true; }
std::string nccl_version() {
  int v = 0;
  ncclGetVersion(&v);
  return str_cat("NCCL ", v / 10000, ".", (v / 100) % 100, ".", v % 100);
}

#else

std::unique_ptr<NcclComm> make_nccl_comm(int, int, int, const std::function<void(void*, size_t)>&) {
  throw Error("this build has no NCCL (configure with CUDA and NCCL found, -DSDKD_NCCL=ON)");
}
bool built_with_nccl() { return false; }
std::string nccl_version() { return "no NCCL"; }

#endif

}  // namespace sdkd::dist
