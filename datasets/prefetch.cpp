#include "sdkd/datasets/prefetch.hpp"

#include "sdkd/error.hpp"

namespace sdkd::data {

BackgroundJob::~BackgroundJob() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // a queued job still runs first: it only fills buffers
}

void BackgroundJob::start(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    SDKD_CHECK(!pending_, "BackgroundJob::start: the previous job has not been waited for");
  }
  // The thread first: if it cannot be made, nothing is pending and wait() cannot hang.
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = std::move(job);
    queued_ = pending_ = true;
    error_ = nullptr;
  }
  cv_.notify_all();
}

void BackgroundJob::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!pending_) return;
  cv_.wait(lock, [this] { return !queued_ && !running_; });
  pending_ = false;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void BackgroundJob::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return queued_ || stop_; });
    if (!queued_) return;  // stop_ and nothing left to run
    std::function<void()> job = std::move(job_);
    queued_ = false;
    running_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    running_ = false;
    error_ = error;
    cv_.notify_all();
  }
}

}  // namespace sdkd::data
