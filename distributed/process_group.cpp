#include "sdkd/distributed/process_group.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "sdkd/device.hpp"
#include "sdkd/distributed/mpi_group.hpp"
#include "sdkd/distributed/nccl_comm.hpp"
#include "sdkd/error.hpp"

namespace sdkd::dist {

namespace {

// A non-negative integer from the environment, or -1 when unset; an error names the variable.
int env_int(const std::function<const char*(const char*)>& get, const char* name) {
  const char* v = get(name);
  if (!v) return -1;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v, &end, 10);
  SDKD_CHECK(*v && end && *end == '\0' && errno == 0 && n >= 0 && n < (1L << 24), "environment variable ", name,
             "=\"", v, "\" is not a process index or count (expected an integer in [0, 16777216))");
  return int(n);
}

// Slurm's tasks per node: SLURM_NTASKS_PER_NODE, or the first count of SLURM_TASKS_PER_NODE
// ("4(x2),3" -> 4), which is this node's when the counts are equal.
int slurm_local_size(const std::function<const char*(const char*)>& get) {
  if (int n = env_int(get, "SLURM_NTASKS_PER_NODE"); n > 0) return n;
  if (const char* v = get("SLURM_TASKS_PER_NODE")) {
    const int n = std::atoi(v);
    if (n > 0) return n;
  }
  return -1;
}

// One process. Forced into the data-parallel path (SDKD_DISTRIBUTED=1) with a GPU model, its
// CUDA tensors go through a one-rank NCCL communicator, so a machine with one GPU and no MPI
// runs the NCCL path end to end.
class SingleProcessGroup final : public ProcessGroup {
 public:
  SingleProcessGroup() = default;
  SingleProcessGroup(LaunchInfo li, std::shared_ptr<NcclComm> nccl) : info_(std::move(li)), nccl_(std::move(nccl)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return nccl_ ? "single+nccl" : "single"; }
  const LaunchInfo& launch() const override { return info_; }
  int nccl_device() const override { return nccl_ ? nccl_->device() : -1; }
  void all_reduce_sum(Tensor& t) override {
    if (nccl_ && t.device().is_cuda()) nccl_->all_reduce_sum(t);
  }
  void broadcast(Tensor& t, int root) override {
    SDKD_CHECK(root == 0, "broadcast: root ", root, " outside a group of one");
    if (nccl_ && t.device().is_cuda()) nccl_->broadcast(t, 0);
  }
  void barrier() override {}
  void send(const void*, size_t, int dst, int) override {
    throw Error(str_cat("send to rank ", dst, ": a single-process run has no other rank"));
  }
  void recv(void*, size_t, int src, int) override {
    throw Error(str_cat("recv from rank ", src, ": a single-process run has no other rank"));
  }
  std::shared_ptr<ProcessGroup> channel() override {
    return std::make_shared<SingleProcessGroup>(info_, nccl_ ? local_nccl(nccl_->device()) : nullptr);
  }
  bool threads_ok() const override { return true; }
  static std::shared_ptr<NcclComm> local_nccl(int device) {
    return make_nccl_comm(0, 1, device, [](void*, size_t) {});  // the id is our own
  }

 private:
  LaunchInfo info_;
  std::shared_ptr<NcclComm> nccl_;
};

std::mutex g_world_mutex;
std::shared_ptr<ProcessGroup> g_world;

}  // namespace

LaunchInfo detect_launch(const std::function<const char*(const char*)>& get) {
  LaunchInfo li;
  if (int size = env_int(get, "OMPI_COMM_WORLD_SIZE"); size >= 1) {
    li.launcher = "mpirun";
    li.size = size;
    li.rank = std::max(env_int(get, "OMPI_COMM_WORLD_RANK"), 0);
    li.local_rank = std::max(env_int(get, "OMPI_COMM_WORLD_LOCAL_RANK"), 0);
    li.local_size = std::max(env_int(get, "OMPI_COMM_WORLD_LOCAL_SIZE"), 1);
  } else if (int ntasks = env_int(get, "SLURM_NTASKS"); ntasks >= 1 && env_int(get, "SLURM_PROCID") >= 0) {
    // SLURM_PROCID alone is also set inside an `salloc` shell: a task of srun has both.
    li.launcher = "srun";
    li.size = ntasks;
    li.rank = env_int(get, "SLURM_PROCID");
    li.local_rank = std::max(env_int(get, "SLURM_LOCALID"), 0);
    li.local_size = std::max(slurm_local_size(get), 1);
  } else if (int size = env_int(get, "PMI_SIZE"); size >= 1) {
    li.launcher = "pmi";
    li.size = size;
    li.rank = std::max(env_int(get, "PMI_RANK"), 0);
    li.local_rank = std::max(env_int(get, "MPI_LOCALRANKID"), 0);
    li.local_size = std::max(env_int(get, "MPI_LOCALNRANKS"), 1);
  } else if (const char* forced = get("SDKD_DISTRIBUTED")) {
    // One process on the data-parallel path, without a launcher or MPI (checks, one-GPU NCCL runs).
    const std::string v = forced;
    SDKD_CHECK(v == "0" || v == "1", "environment variable SDKD_DISTRIBUTED=\"", v, "\": expected 0 or 1");
    if (v == "1") li.launcher = "forced";
  }
  SDKD_CHECK(li.rank < li.size, "launcher (", li.launcher, "): rank ", li.rank, " is not below the world size ",
             li.size);
  SDKD_CHECK(li.local_rank < std::max(li.local_size, li.local_rank + 1), "launcher: bad local rank");
  return li;
}

double ProcessGroup::sum(double v) {
  if (size() == 1) return v;
  Tensor t = Tensor::scalar(v, DType::f64);
  all_reduce_sum(t);
  return t.item();
}

std::vector<double> ProcessGroup::sum(std::vector<double> v) {
  if (size() == 1 || v.empty()) return v;
  Tensor t = Tensor::from_vector(v, {int64_t(v.size())});
  all_reduce_sum(t);
  return t.to_double_vector();
}

int64_t ProcessGroup::max(int64_t v) {
  if (size() == 1) return v;
  // Every rank's value in its own slot: the sum is the gathered list, exact in double for
  // |v| < 2^53.
  std::vector<double> slots(size_t(size()), 0.0);
  slots[size_t(rank())] = double(v);
  int64_t m = v;
  for (double s : sum(slots)) m = std::max(m, int64_t(s));
  return m;
}

std::string ProcessGroup::broadcast_string(std::string s, int root) {
  if (size() == 1) return s;
  Tensor n = Tensor::scalar(double(s.size()), DType::f64);
  broadcast(n, root);
  const int64_t len = int64_t(n.item());
  std::vector<int32_t> codes(size_t(std::max<int64_t>(len, 1)), 0);
  if (rank() == root)
    for (size_t i = 0; i < s.size(); ++i) codes[i] = int32_t(static_cast<unsigned char>(s[i]));
  Tensor t = Tensor::from_vector(codes, {int64_t(codes.size())});
  broadcast(t, root);
  std::string out(size_t(len), '\0');
  const int32_t* p = t.data<int32_t>();
  for (int64_t i = 0; i < len; ++i) out[size_t(i)] = char(p[i]);
  return out;
}

std::shared_ptr<ProcessGroup> single_process_group() { return std::make_shared<SingleProcessGroup>(); }

ProcessGroup& init_world(bool use_nccl) {
  std::lock_guard<std::mutex> lock(g_world_mutex);
  if (g_world) return *g_world;
  const LaunchInfo li = detect_launch([](const char* n) { return std::getenv(n); });
  if (li.size == 1 && li.launcher == "none") {
    g_world = single_process_group();
  } else if (li.launcher == "forced") {
    int device = -1;
    if (use_nccl && built_with_nccl()) {
      SDKD_CHECK(cuda_device_count() > 0, "SDKD_DISTRIBUTED=1 with a GPU model: no CUDA device (",
                 cuda_unavailable_reason(), ")");
      device = 0;
    }
    g_world = std::make_shared<SingleProcessGroup>(li, device >= 0 ? SingleProcessGroup::local_nccl(device) : nullptr);
  } else {
    SDKD_CHECK(built_with_mpi() || li.size == 1, "launched as rank ", li.rank, " of ", li.size, " by ", li.launcher,
               ", but this build has no MPI (configure with libopenmpi-dev installed, -DSDKD_MPI=ON); run it "
               "as one process");
    g_world = built_with_mpi() ? make_mpi_world(li, use_nccl) : single_process_group();
  }
  return *g_world;
}

ProcessGroup& world() { return init_world(false); }

std::shared_ptr<ProcessGroup> world_ptr() {
  world();
  return g_world;
}

void abort_run(int code) {
  std::shared_ptr<ProcessGroup> w;
  {
    std::lock_guard<std::mutex> lock(g_world_mutex);
    w = g_world;
  }
  if (w && w->size() > 1) mpi_abort(code);
}

}  // namespace sdkd::dist
