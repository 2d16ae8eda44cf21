#pragma once
// The processes of one run: who we are (rank, world size, local rank on this node), how we were
// launched (mpirun, Slurm's srun, or alone), and the collectives the trainer needs.
//
// One process per GPU, or per CPU socket: `mpirun -np N sdkd train ...` or `srun sdkd train ...`.
// The group is MPI's world communicator (MPI_Init_thread, finalised at exit); tensors on a CUDA
// device are reduced by NCCL, whose communicator is bootstrapped through MPI (rank 0's unique id
// broadcast), one GPU per local rank; host tensors by MPI. A build without MPI (SDKD_MPI=OFF or
// no libopenmpi-dev) has only the single-process group, and refuses a launch of several.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/collective.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::dist {

// What the launcher's environment says about this process (before MPI is initialised).
struct LaunchInfo {
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  // "mpirun" (Open MPI), "srun" (Slurm), "pmi" (another MPI's launcher), "forced" (one process
  // with SDKD_DISTRIBUTED=1: the data-parallel path without MPI; NCCL for a GPU model), "none"
  std::string launcher = "none";
};
// From environment variables through getenv (a test passes its own lookup): Open MPI's
// OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}, Slurm's SLURM_{PROCID,NTASKS,LOCALID} (with
// SLURM_NTASKS_PER_NODE or SLURM_TASKS_PER_NODE for the local size), PMI_RANK/PMI_SIZE, or
// SDKD_DISTRIBUTED=1. A value that is not a number in range is an error naming the variable.
LaunchInfo detect_launch(const std::function<const char*(const char*)>& getenv_fn);

class ProcessGroup : public Collective {
 public:
  virtual std::string backend() const = 0;  // "single", "mpi", "mpi+nccl"
  virtual int local_rank() const = 0;
  virtual const LaunchInfo& launch() const = 0;
  virtual void barrier() = 0;
  // Point to point, for the generator's batches: blocking, matched by (source, tag).
  virtual void send(const void* data, size_t bytes, int dst, int tag) = 0;
  virtual void recv(void* data, size_t bytes, int src, int tag) = 0;
  // A second group over the same processes whose collectives never mix with this one's: the
  // gradient reducer's thread uses it while the main thread may reduce BatchNorm statistics.
  virtual std::shared_ptr<ProcessGroup> channel() = 0;
  // Whether collectives may be called from a thread other than the one that made the group
  // (MPI_THREAD_MULTIPLE); the reducer runs inline when not.
  virtual bool threads_ok() const = 0;
  // The NCCL communicator's device (the model's GPU is the local rank's), or -1 without NCCL.
  virtual int nccl_device() const { return -1; }

  bool is_main() const { return rank() == 0; }
  // Host helpers over all_reduce_sum / broadcast.
  double sum(double v);
  std::vector<double> sum(std::vector<double> v);
  int64_t max(int64_t v);
  std::string broadcast_string(std::string s, int root);
};

// The group of this process, made on first use from the launch environment: the single-process
// group when launched alone, MPI's world otherwise (an error, not a silent fallback, when this
// build has no MPI). `init_world` makes it explicitly and says whether NCCL should be set up for
// CUDA tensors (when the build has NCCL and the model is on a GPU); world() after it returns it.
ProcessGroup& world();
ProcessGroup& init_world(bool use_nccl);
std::shared_ptr<ProcessGroup> world_ptr();
// Whether this build can run several processes, and what it was built with ("MPI 3.1 (Open MPI
// 4.1.4), NCCL 2.28.3" or "single process only: built without MPI").
bool built_with_mpi();
std::string distributed_build_info();

// A group of one: every collective is the identity. Also what tests use as a reference.
std::shared_ptr<ProcessGroup> single_process_group();

// Stops every process of the run after an error on one of them (MPI_Abort), so the others do not
// wait forever in a collective; does nothing in a single-process run. Never returns when it aborts.
void abort_run(int code);

}  // namespace sdkd::dist
