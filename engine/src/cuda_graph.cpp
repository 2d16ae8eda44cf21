#include "sdkd/cuda_graph.hpp"

#include "dispatch.hpp"
#include "sdkd/device.hpp"

#ifdef SDKD_WITH_CUDA
#include "runtime/cuda_runtime.hpp"
#endif

namespace sdkd {

CudaGraph::CudaGraph(Device device) : device_(device) {
  SDKD_CHECK(device.is_cuda(), "CudaGraph: needs a CUDA device, got ", device.str());
  require_cuda("CudaGraph", device.index);
}

CudaGraph::~CudaGraph() {
  SDKD_CUDA_ONLY(if (handle_) cuda_rt::graph_destroy(static_cast<cuda_rt::Graph*>(handle_)));
}

void CudaGraph::capture(const std::function<void()>& work) {
  SDKD_CHECK(!handle_, "CudaGraph: already captured");
  (void)work;  // unused in a CPU-only build
  SDKD_CUDA_ONLY({
    cuda_rt::Graph* g = cuda_rt::graph_begin_capture(device_.index);
    try {
      work();
    } catch (...) {
      // End the capture so the stream is usable again, then report the original error.
      try {
        cuda_rt::graph_end_capture(g);
      } catch (...) {
      }
      cuda_rt::graph_destroy(g);
      throw;
    }
    cuda_rt::graph_end_capture(g);
    handle_ = g;
  });
}

void CudaGraph::replay() {
  SDKD_CHECK(handle_, "CudaGraph: replay() before capture()");
  SDKD_CUDA_ONLY(cuda_rt::graph_replay(static_cast<cuda_rt::Graph*>(handle_)));
}

}  // namespace sdkd
