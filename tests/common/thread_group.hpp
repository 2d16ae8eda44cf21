#pragma once
// Ranks as threads of one test process: ThreadGroup(n).member(r) is rank r's
// dist::ProcessGroup, whose collectives meet the other members' at a barrier. The sum is formed
// by rank 0 in rank order, in float64 for float64 tensors, and copied to every member, so every
// member gets the same bits, as MPI promises. Used to check the cross-rank backward of
// sync_batch_norm2d and the gradient reducer without launching processes (the mpirun tests in
// tests/tools/distributed_cli.sh run the real thing).
#include <barrier>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sdkd/autograd.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::test {

class ThreadGroup {
 public:
  explicit ThreadGroup(int n, int depth = 1) : n_(n), barrier_(n), slots_(size_t(n), nullptr) {
    if (depth > 0) child_ = std::make_shared<ThreadGroup>(n, depth - 1);
  }
  int size() const { return n_; }
  std::shared_ptr<dist::ProcessGroup> member(int rank);

  // Runs fn(rank) on n threads at once and rethrows the first failure.
  template <class F>
  void run(F&& fn) {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n_));
    for (int r = 0; r < n_; ++r)
      threads.emplace_back([&, r] {
        try {
          fn(r);
        } catch (...) {
          errors[size_t(r)] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  friend class ThreadMember;
  int n_;
  std::barrier<> barrier_;
  std::vector<Tensor*> slots_;
  Tensor result_;
  std::shared_ptr<ThreadGroup> child_;
};

class ThreadMember final : public dist::ProcessGroup {
 public:
  ThreadMember(ThreadGroup* g, int rank) : g_(g), rank_(rank) { info_.rank = rank, info_.size = g->size(); }
  int rank() const override { return rank_; }
  int size() const override { return g_->n_; }
  int local_rank() const override { return rank_; }
  std::string backend() const override { return "threads"; }
  const dist::LaunchInfo& launch() const override { return info_; }
  bool threads_ok() const override { return true; }
  void barrier() override { g_->barrier_.arrive_and_wait(); }
  void send(const void*, size_t, int, int) override { throw std::logic_error("ThreadMember: no send"); }
  void recv(void*, size_t, int, int) override { throw std::logic_error("ThreadMember: no recv"); }
  std::shared_ptr<dist::ProcessGroup> channel() override {
    if (!g_->child_) throw std::logic_error("ThreadMember: no channel left");
    return g_->child_->member(rank_);
  }
  void all_reduce_sum(Tensor& t) override {
    g_->slots_[size_t(rank_)] = &t;
    g_->barrier_.arrive_and_wait();
    if (rank_ == 0) {
      NoGradGuard ng;
      const DType acc = t.dtype() == DType::i32 ? DType::i32 : DType::f64;
      Tensor sum = g_->slots_[0]->to(acc).clone();
      for (int r = 1; r < g_->n_; ++r) sum = add(sum, g_->slots_[size_t(r)]->to(acc));
      g_->result_ = sum.to(t.dtype());
    }
    g_->barrier_.arrive_and_wait();
    t.copy_(g_->result_);
    g_->barrier_.arrive_and_wait();
  }
  void broadcast(Tensor& t, int root) override {
    g_->slots_[size_t(rank_)] = &t;
    g_->barrier_.arrive_and_wait();
    if (rank_ != root) t.copy_(*g_->slots_[size_t(root)]);
    g_->barrier_.arrive_and_wait();
  }

 private:
  ThreadGroup* g_;
  int rank_;
  dist::LaunchInfo info_;
};

inline std::shared_ptr<dist::ProcessGroup> ThreadGroup::member(int rank) {
  return std::make_shared<ThreadMember>(this, rank);
}

}  // namespace sdkd::test
