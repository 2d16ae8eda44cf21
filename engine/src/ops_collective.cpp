// all_reduce_sum (sdkd/collective.hpp): one recorded node whose backward is itself an
// all-reduce. sync_batch_norm2d lives with the other norms (ops_norm.cpp), on their kernels.
#include "sdkd/collective.hpp"


#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

// The gradient of y = sum_r x_r for member r is sum_r' dL_r'/dy: an all-reduce of the upstream
// gradient. The group must outlive the graph (it is held by pointer, as the graph is short-lived).
struct AllReduceBackward : Node {
  Collective* group;
  explicit AllReduceBackward(Collective* g) : group(g) {}
  std::vector<Tensor> backward(const Tensor& grad_out) override {
    Tensor g = grad_out.contiguous().clone();
    group->all_reduce_sum(g);
    return {g};
  }
  const char* name() const override { return "AllReduceBackward"; }
};

}  // namespace

Tensor all_reduce_sum(const Tensor& x, Collective& group) {
  SDKD_CHECK(x.defined(), "all_reduce_sum: undefined input");
  Tensor y = x.detach().contiguous().clone();
  group.all_reduce_sum(y);
  if (!needs_grad({&x})) return y;
  auto node = std::make_shared<AllReduceBackward>(&group);
  node->inputs = {x};
  return record(y, node);
}

}  // namespace sdkd
