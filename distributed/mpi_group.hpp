#pragma once
// The MPI implementation behind sdkd/distributed/process_group.hpp (distributed/ only). In a
// build without MPI these are stubs that say so.
#include <memory>

#include "sdkd/distributed/process_group.hpp"

namespace sdkd::dist {

// MPI_Init_thread (asking for MPI_THREAD_MULTIPLE), the world communicator, and with use_nccl
// and a CUDA device an NCCL communicator for the local rank's GPU. Finalised at exit.
std::shared_ptr<ProcessGroup> make_mpi_world(const LaunchInfo& launch, bool use_nccl);
void mpi_abort(int code);

}  // namespace sdkd::dist
