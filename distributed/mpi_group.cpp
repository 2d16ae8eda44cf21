#include "sdkd/distributed/mpi_group.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "sdkd/distributed/nccl_comm.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"

#ifdef SDKD_WITH_MPI
// The C API only: without these, mpi.h pulls in the deprecated C++ bindings, which need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace sdkd::dist {

#ifdef SDKD_WITH_MPI

namespace {

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(str_cat("MPI ", what, " failed: ", std::string(text, size_t(len))));
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT;
  }
  throw Error("MPI: unsupported dtype");
}

// MPI counts are int: large buffers go in pieces of at most 2^30 elements.
constexpr int64_t kPiece = int64_t(1) << 30;

bool g_finalize_registered = false;
void finalize_at_exit() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Finalize();
}

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup(MPI_Comm comm, LaunchInfo li, int local_rank, bool threads_ok, std::shared_ptr<NcclComm> nccl)
      : comm_(comm), li_(std::move(li)), local_rank_(local_rank), threads_ok_(threads_ok), nccl_(std::move(nccl)) {
    check_mpi(MPI_Comm_rank(comm_, &rank_), "Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "Comm_size");
  }
  // Each group owns its duplicated communicator (a reducer's channel is made per training run);
  // after MPI_Finalize (at exit) there is nothing left to free.
  ~MpiGroup() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string backend() const override { return nccl_ ? "mpi+nccl" : "mpi"; }
  const LaunchInfo& launch() const override { return li_; }
  bool threads_ok() const override { return threads_ok_; }
  int nccl_device() const override { return nccl_ ? nccl_->device() : -1; }

  void all_reduce_sum(Tensor& t) override {
    if (t.device().is_cuda() && nccl_) return nccl_->all_reduce_sum(t);
    on_host(t, [&](void* p, int n, MPI_Datatype type) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, comm_), "Allreduce");
    });
  }

  void broadcast(Tensor& t, int root) override {
    SDKD_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " outside ranks 0..", size_ - 1);
    if (t.device().is_cuda() && nccl_) return nccl_->broadcast(t, root);
    on_host(t, [&](void* p, int n, MPI_Datatype type) { check_mpi(MPI_Bcast(p, n, type, root, comm_), "Bcast"); });
  }

  void barrier() override { check_mpi(MPI_Barrier(comm_), "Barrier"); }

  void send(const void* data, size_t bytes, int dst, int tag) override {
    const char* p = static_cast<const char*>(data);
    for (size_t at = 0; at < bytes || (at == 0 && bytes == 0); at += size_t(kPiece)) {
      const int n = int(std::min<size_t>(size_t(kPiece), bytes - at));
      check_mpi(MPI_Send(p + at, n, MPI_BYTE, dst, tag, comm_), "Send");
      if (bytes == 0) break;
    }
  }

  void recv(void* data, size_t bytes, int src, int tag) override {
    char* p = static_cast<char*>(data);
    for (size_t at = 0; at < bytes || (at == 0 && bytes == 0); at += size_t(kPiece)) {
      const int n = int(std::min<size_t>(size_t(kPiece), bytes - at));
      MPI_Status st;
      check_mpi(MPI_Recv(p + at, n, MPI_BYTE, src, tag, comm_, &st), "Recv");
      int got = 0;
      MPI_Get_count(&st, MPI_BYTE, &got);
      SDKD_CHECK(got == n, "MPI Recv from rank ", src, ": expected ", n, " bytes, got ", got);
      if (bytes == 0) break;
    }
  }

  std::shared_ptr<ProcessGroup> channel() override {
    MPI_Comm dup;
    check_mpi(MPI_Comm_dup(comm_, &dup), "Comm_dup");
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    std::shared_ptr<NcclComm> nccl;
    if (nccl_) nccl = make_nccl_comm(rank_, size_, nccl_->device(), bcaster(dup));
    return std::make_shared<MpiGroup>(dup, li_, local_rank_, threads_ok_, std::move(nccl));
  }

  static std::function<void(void*, size_t)> bcaster(MPI_Comm comm) {
    return [comm](void* p, size_t bytes) { check_mpi(MPI_Bcast(p, int(bytes), MPI_BYTE, 0, comm), "Bcast"); };
  }

 private:
  // fn(pointer, count, type) over t's elements in pieces of at most kPiece (MPI counts are int),
  // in place. A GPU tensor without NCCL, or a strided one, goes through a contiguous host copy.
  template <class F>
  static void on_host(Tensor& t, F&& fn) {
    if (t.device().is_cuda() || !t.is_contiguous()) {
      Tensor h = t.to(Device{}).contiguous();
      on_host(h, fn);
      t.copy_(h);
      return;
    }
    char* p = static_cast<char*>(raw(t));
    const size_t es = dtype_size(t.dtype());
    for (int64_t at = 0; at < t.numel(); at += kPiece)
      fn(p + size_t(at) * es, int(std::min(kPiece, t.numel() - at)), mpi_type(t.dtype()));
  }
  static void* raw(Tensor& t) {
    switch (t.dtype()) {
      case DType::f32: return t.data<float>();
      case DType::f64: return t.data<double>();
      case DType::i32: return t.data<int32_t>();
    }
    return nullptr;
  }
  MPI_Comm comm_;
  LaunchInfo li_;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  bool threads_ok_;
  std::shared_ptr<NcclComm> nccl_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_mpi_world(const LaunchInfo& li, bool use_nccl) {
  int init = 0, provided = MPI_THREAD_SINGLE;
  check_mpi(MPI_Initialized(&init), "Initialized");
  if (!init) check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "Init_thread");
  else MPI_Query_thread(&provided);
  if (!g_finalize_registered) {
    g_finalize_registered = true;
    std::atexit(finalize_at_exit);
  }
  MPI_Comm world;
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world), "Comm_dup");
  MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
  // The local rank from the processes that share this node's memory, whatever the launcher.
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "Comm_split_type");
  int local_rank = 0, local_size = 1, rank = 0, size = 1;
  MPI_Comm_rank(node, &local_rank);
  MPI_Comm_size(node, &local_size);
  MPI_Comm_free(&node);
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  LaunchInfo info = li;
  info.rank = rank, info.size = size, info.local_rank = local_rank, info.local_size = local_size;
  std::shared_ptr<NcclComm> nccl;
  if (use_nccl) {
    SDKD_CHECK(built_with_nccl(), "--device cuda with several processes needs NCCL, which this build lacks "
                                  "(configure with CUDA and NCCL found, -DSDKD_NCCL=ON)");
    const int gpus = cuda_device_count();
    SDKD_CHECK(gpus > 0, "rank ", rank, ": no CUDA device visible (", cuda_unavailable_reason(), ")");
    SDKD_CHECK(local_size <= gpus, "rank ", rank, ": ", local_size, " processes on this node but ", gpus,
               " GPUs; run one process per GPU");
    nccl = make_nccl_comm(rank, size, local_rank, MpiGroup::bcaster(world));
  }
  return std::make_shared<MpiGroup>(world, info, local_rank, provided >= MPI_THREAD_MULTIPLE, std::move(nccl));
}

void mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

bool built_with_mpi() { return true; }

std::string distributed_build_info() {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string l(lib, size_t(len));
  if (const size_t cut = l.find_first_of(",\n"); cut != std::string::npos) l.resize(cut);
  int v = 0, sv = 0;
  MPI_Get_version(&v, &sv);
  return str_cat("MPI ", v, ".", sv, " (", l, ")", built_with_nccl() ? ", " + nccl_version() : ", no NCCL");
}

#else

std::shared_ptr<ProcessGroup> make_mpi_world(const LaunchInfo& li, bool) {
  throw Error(str_cat("launched as rank ", li.rank, " of ", li.size, ", but this build has no MPI"));
}
void mpi_abort(int code) { std::exit(code); }
bool built_with_mpi() { return false; }
std::string distributed_build_info() { return "single process only: built without MPI"; }

#endif

}  // namespace sdkd::dist
