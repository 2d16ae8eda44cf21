#pragma once
// NCCL for tensors on the GPU (distributed/ only; compiled when the build has NCCL). The
// communicator is made collectively: rank 0's ncclUniqueId reaches the others through `bcast`
// (MPI_Bcast). Each collective runs on the communicator's own stream, ordered after the work
// already queued on the device's compute stream (an event) and before the work queued after it
// (the compute stream waits on the collective's event), so the host never blocks and the compute
// stream goes on with the rest of backward while a bucket is on the wire.
#include <functional>
#include <memory>
#include <string>

#include "sdkd/tensor.hpp"

namespace sdkd::dist {

class NcclComm {
 public:
  virtual ~NcclComm() = default;
  virtual void all_reduce_sum(Tensor& t) = 0;
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual int device() const = 0;
};

// bcast(data, bytes): MPI_Bcast from rank 0 over the group being made.
std::unique_ptr<NcclComm> make_nccl_comm(int rank, int size, int device,
                                         const std::function<void(void*, size_t)>& bcast);
bool built_with_nccl();
std::string nccl_version();

}  // namespace sdkd::dist
