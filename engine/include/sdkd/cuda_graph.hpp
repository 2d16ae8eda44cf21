#pragma once
// Capture a fixed-shape piece of work (a training step's forward and backward) into a CUDA
// graph once, then replay it with one launch per step. Like torch.cuda.CUDAGraph:
//  - run the work eagerly a few times first, so lazy set-up (cuBLAS handles, cuFFT plans,
//    allocator blocks) happens outside the capture;
//  - inputs must be copied into tensors that were allocated before the capture ("static"
//    inputs) and outputs read from the tensors the captured work produced;
//  - the work must not synchronise with the host (no item(), no device->host copies) and must
//    not draw random numbers (the generator offset is captured, so every replay would repeat
//    the same draws).
// Memory allocated during the capture comes from a pool owned by the graph and stays reserved
// until the graph is destroyed.
#include <functional>
#include <memory>

#include "sdkd/dtype.hpp"

namespace sdkd {

class CudaGraph {
 public:
  explicit CudaGraph(Device device);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Records the kernels `work` launches on the device's stream (it is not executed).
  void capture(const std::function<void()>& work);
  void replay();  // launches the captured kernels (asynchronously)
  bool captured() const { return handle_ != nullptr; }

 private:
  Device device_;
  void* handle_ = nullptr;
};

}  // namespace sdkd
