#pragma once
// One worker thread that runs one job at a time: BatchIterator (datasets/sequence_dataset.hpp)
// has it read batch k+1 while batch k trains. The thread starts with the first job and is
// joined by the destructor (after the running job, if any, has finished), so an iterator left
// early, by a break or an exception, leaves no thread behind. What a job throws is kept and
// rethrown by wait(), in the caller's thread.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace sdkd::data {

class BackgroundJob {
 public:
  BackgroundJob() = default;
  ~BackgroundJob();
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;

  // Runs `job` on the worker. The previous job must have been waited for.
  void start(std::function<void()> job);
  // Blocks until the job started last has run; rethrows its exception. No-op without one.
  void wait();

 private:
  void loop();

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool queued_ = false, running_ = false, stop_ = false, pending_ = false;
  std::exception_ptr error_;
};

}  // namespace sdkd::data
