#pragma once
// What the engine needs from a group of processes that train one model together, and the
// two ops built on it. The engine knows no transport: the distributed layer
// (sdkd/distributed/process_group.hpp) implements Collective over MPI or NCCL, and an embedder
// may plug in its own. Every member must call the same collectives in the same order.
#include <memory>

#include "sdkd/tensor.hpp"

namespace sdkd {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums t over every member, in place; t has the same shape, dtype and device everywhere and
  // every member gets the same bits back.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // Copies root's t into every member's t (same shape, dtype and device everywhere).
  virtual void broadcast(Tensor& t, int root) = 0;
};

// y = the sum over the group of every member's x (all_reduce_sum on a copy). Differentiable:
// with the group's loss the sum of the members' losses, the gradient of a member's x is the sum
// over the group of the gradients that reached y, so the backward is an all-reduce too.
Tensor all_reduce_sum(const Tensor& x, Collective& group);

// Training-mode BatchNorm over the union of every member's batch (PyTorch's SyncBatchNorm):
// per-channel mean and variance of x (N, C, H, W) summed over the group in two passes (mean,
// then the centred squares; in float64), the running buffers updated from those global
// statistics (unbiased variance over the global count), and the gradient through both
// all-reduces. With a group of one it equals batch_norm2d up to rounding.
Tensor sync_batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, Collective& group, double momentum = 0.1, double eps = 1e-5);

}  // namespace sdkd
