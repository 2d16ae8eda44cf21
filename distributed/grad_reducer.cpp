#include "sdkd/distributed/grad_reducer.hpp"

#include <algorithm>
#include <chrono>

#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"

namespace sdkd::dist {

GradReducer::GradReducer(std::shared_ptr<ProcessGroup> channel, std::vector<Tensor> params, int64_t bucket_bytes)
    : channel_(std::move(channel)), params_(std::move(params)), threaded_(channel_->threads_ok()) {
  SDKD_CHECK(bucket_bytes >= 1, "gradient bucket size must be >= 1 byte, got ", bucket_bytes);
  SDKD_CHECK(!params_.empty(), "GradReducer: no parameters");
  const DType dt = params_[0].dtype();
  const Device dev = params_[0].device();
  bucket_of_.resize(params_.size());
  reported_.assign(params_.size(), 0);
  // Reverse order: the gradients of the last parameters are ready first.
  Bucket cur;
  auto close = [&] {
    if (cur.params.empty()) return;
    cur.flat = Tensor::zeros({cur.elements + int64_t(cur.params.size())}, dt, dev);
    buckets_.push_back(std::move(cur));
    cur = Bucket{};
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    SDKD_CHECK(p.dtype() == dt && p.device() == dev, "GradReducer: parameters of one model must share dtype and "
               "device; parameter ", k, " is ", p.str(), " on ", p.device().str(), ", parameter 0 ", params_[0].str());
    SDKD_CHECK(index_.emplace(p.impl(), k).second, "GradReducer: parameter ", k, " is listed twice");
    const int64_t bytes = p.numel() * int64_t(dtype_size(dt));
    // The first bucket (the last layers) is kept small, as DDP does, so the wire starts early.
    const int64_t cap = buckets_.empty() ? std::min(bucket_bytes, kFirstBucketBytes) : bucket_bytes;
    if (!cur.params.empty() && (cur.elements * int64_t(dtype_size(dt)) + bytes) > cap) close();
    bucket_of_[k] = buckets_.size();
    cur.params.push_back(k);
    cur.offsets.push_back(cur.elements);
    cur.elements += p.numel();
  }
  close();
  for (auto& b : buckets_) b.pending = int64_t(b.params.size());
  stats_.buckets = int64_t(buckets_.size());
  if (threaded_) thread_ = std::thread([this] { worker(); });
}

GradReducer::~GradReducer() {
  if (!threaded_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::function<void(const Tensor&)> GradReducer::hook() {
  return [this](const Tensor& leaf) { ready(leaf); };
}

std::vector<std::vector<size_t>> GradReducer::bucket_layout() const {
  std::vector<std::vector<size_t>> out;
  for (const auto& b : buckets_) out.push_back(b.params);
  return out;
}

void GradReducer::ready(const Tensor& leaf) {
  const auto it = index_.find(leaf.impl());
  if (it == index_.end()) return;  // a leaf that is not one of ours (an input that requires grad)
  const size_t k = it->second;
  if (reported_[k]) return;
  reported_[k] = 1;
  Bucket& b = buckets_[bucket_of_[k]];
  if (--b.pending == 0) {
    b.filled = true;
    launch_ready();
  }
}

void GradReducer::launch_ready() {
  while (next_start_ < buckets_.size() && buckets_[next_start_].filled) start(next_start_++);
}

void GradReducer::start(size_t bi) {
  Bucket& b = buckets_[bi];
  NoGradGuard ng;
  for (size_t j = 0; j < b.params.size(); ++j) {
    const Tensor& p = params_[b.params[j]];
    const Tensor g = p.grad();
    Tensor seg = b.flat.slice(0, b.offsets[j], b.offsets[j] + p.numel());
    Tensor present = b.flat.slice(0, b.elements + int64_t(j), b.elements + int64_t(j) + 1);
    if (g.defined()) {
      seg.copy_(g.reshape({-1}));
      present.fill_(1.0);
    } else {
      seg.fill_(0.0);
      present.fill_(0.0);
    }
  }
  if (!threaded_) {
    channel_->all_reduce_sum(b.flat);
    ++done_;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(bi);
  }
  cv_.notify_all();
}

void GradReducer::worker() {
  for (;;) {
    size_t bi;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      bi = queue_.front();
    }
    try {
      channel_->all_reduce_sum(buckets_[bi].flat);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.pop_front();
      ++done_;
    }
    cv_.notify_all();
  }
}

void GradReducer::finish() {
  stats_.started_in_backward += int64_t(next_start_);
  for (auto& b : buckets_) b.filled = true;  // what backward did not reach is sent as zeros, marked absent
  launch_ready();
  const auto t0 = std::chrono::steady_clock::now();
  if (threaded_) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return done_ == buckets_.size(); });
  }
  stats_.finish_wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++stats_.steps;
  if (error_) {
    const std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  NoGradGuard ng;
  for (auto& b : buckets_) {
    const std::vector<double> present = b.flat.slice(0, b.elements, b.elements + int64_t(b.params.size())).to_double_vector();
    for (size_t j = 0; j < b.params.size(); ++j) {
      Tensor p = params_[b.params[j]];
      if (present[j] == 0) continue;  // no rank had a gradient for it
      const Tensor sum = b.flat.slice(0, b.offsets[j], b.offsets[j] + p.numel()).reshape(p.shape());
      Tensor g = p.grad();
      if (g.defined()) g.copy_(sum);
      else p.set_grad(sum.clone());
    }
    b.pending = int64_t(b.params.size());
    b.filled = false;
  }
  std::fill(reported_.begin(), reported_.end(), 0);
  next_start_ = 0;
  done_ = 0;
}

}  // namespace sdkd::dist
