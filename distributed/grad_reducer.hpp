#pragma once
// Data-parallel gradient averaging, overlapped with backward (as PyTorch's DDP reducer): the
// parameters are grouped into buckets of about bucket_bytes (the first at most 1 MiB), in reverse order (backward reaches
// the last layers first); when every gradient of a bucket is final (Tensor::backward's
// on_leaf_ready hook), the bucket is copied into one flat buffer and its all-reduce starts on
// the reducer's thread (MPI) or the communicator's stream (NCCL) while backward goes on. Buckets
// start in index order on every rank, so the collectives always match. finish() starts what is
// left, waits, and writes the sums back into .grad.
//
// The caller scales its loss so that the sum over ranks is the global loss (each rank's batch
// mean times its share of the global batch): the reduced gradient is then the gradient of the
// global batch, whatever the split. A parameter no rank produced a gradient for keeps none, so
// the optimizer skips it as a single process would.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sdkd/distributed/process_group.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::dist {

constexpr int64_t kDefaultBucketBytes = 25 << 20;  // DDP's default
constexpr int64_t kFirstBucketBytes = 1 << 20;     // the first bucket's cap (DDP's too)

class GradReducer {
 public:
  // channel: a group of its own (ProcessGroup::channel()), used by the reducer's thread only.
  GradReducer(std::shared_ptr<ProcessGroup> channel, std::vector<Tensor> params,
              int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Pass to Tensor::backward(grad, retain_graph, hook()).
  std::function<void(const Tensor& leaf)> hook();
  // After backward (or, on a rank with nothing to add, instead of it): every bucket reduced and
  // written back. Resets for the next step.
  void finish();

  struct Stats {
    int64_t buckets = 0;
    int64_t started_in_backward = 0;  // buckets whose all-reduce began before finish(), summed over steps
    int64_t steps = 0;
    double finish_wait_seconds = 0;   // time finish() spent waiting for the wire, summed over steps
  };
  const Stats& stats() const { return stats_; }
  // The parameter indices of each bucket, in launch order (for tests and the log).
  std::vector<std::vector<size_t>> bucket_layout() const;

 private:
  struct Bucket {
    std::vector<size_t> params;      // indices into params_
    std::vector<int64_t> offsets;    // each parameter's start in flat
    int64_t elements = 0;            // gradient elements; flat has one presence slot per parameter after them
    Tensor flat;
    int64_t pending = 0;             // parameters not yet reported this step
    bool filled = false;
  };
  void ready(const Tensor& leaf);
  void start(size_t b);        // copies the bucket's gradients into flat and queues its all-reduce
  void launch_ready();         // starts every bucket that is ready, in index order
  void worker();

  std::shared_ptr<ProcessGroup> channel_;
  std::vector<Tensor> params_;
  std::unordered_map<const void*, size_t> index_;  // TensorImpl* -> parameter index
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<char> reported_;
  size_t next_start_ = 0;
  Stats stats_;
  bool threaded_;
  // The wire: buckets queued by the main thread, reduced in order by worker().
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<size_t> queue_;
  size_t done_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace sdkd::dist
