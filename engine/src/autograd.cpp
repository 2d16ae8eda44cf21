#include "sdkd/autograd.hpp"

#include <unordered_map>
#include <unordered_set>

#include "dispatch.hpp"
#include "tensor_impl.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {
thread_local bool g_grad_enabled = true;

// True when nothing but the caller's handle reaches g's memory: one handle on its impl, one
// impl on its storage, the whole storage in order, no graph attached.
bool exclusively_owned(const Tensor& g) {
  const auto& impl = g.impl_ptr();
  return impl.use_count() == 1 && impl->storage.use_count() == 1 && impl->offset == 0 && !impl->grad_fn &&
         !impl->grad && g.is_contiguous() && size_t(g.numel()) * dtype_size(g.dtype()) == impl->storage->nbytes;
}

// Sums gradients meeting at a tensor. Leaf gradients get their own buffer (a backward may
// return one tensor for two inputs, and optimizers scale .grad in place); intermediate ones
// may alias, since nothing mutates them. A fresh gradient that nothing else can reach is
// taken as the leaf's buffer without a copy (PyTorch's AccumulateGrad does the same): a
// clone of a conv's 26 MB dx cost a third of its backward.
void accumulate(std::shared_ptr<TensorImpl>& slot, const Tensor& g, bool own_buffer) {
  if (!slot) {
    slot = own_buffer && !exclusively_owned(g) ? g.clone().impl_ptr() : g.impl_ptr();
    return;
  }
  slot = add(Tensor(slot), g).impl_ptr();
}
}  // namespace

bool GradMode::enabled() { return g_grad_enabled; }
void GradMode::set_enabled(bool on) { g_grad_enabled = on; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

Tensor record(Tensor out, std::shared_ptr<Node> node) {
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const { backward(grad, retain_graph, nullptr); }

void Tensor::backward(const Tensor& grad, bool retain_graph,
                      const std::function<void(const Tensor& leaf)>& on_leaf_ready) const {
  SDKD_CHECK(requires_grad(), "backward() on a tensor that does not require grad (", str(), ")");
  Tensor seed = grad;
  if (!seed.defined()) {
    SDKD_CHECK(numel() == 1, "backward() without a gradient needs a one-element tensor, got ", str());
    seed = Tensor::ones(shape(), dtype(), device());
  }
  SDKD_CHECK(seed.shape() == shape(), "backward(): gradient shape ", shape_str(seed.shape()),
             " does not match tensor shape ", shape_str(shape()));

  // Post-order DFS over the producing ops gives a topological order; reversed, every node
  // runs after all nodes that consume its output.
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<TensorImpl*, size_t>> stack{{impl(), 0}};
  seen.insert(impl());
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    SDKD_CHECK(!t->grad_fn || !t->grad_fn->released, "backward(): ", t->grad_fn ? t->grad_fn->name() : "",
               " was already run backward and its graph released; pass retain_graph = true to the first backward() "
               "to run backward through a graph twice, or recompute the forward pass");
    if (t->grad_fn && next < t->grad_fn->inputs.size()) {
      TensorImpl* in = t->grad_fn->inputs[next++].impl();
      if (in && in->grad_fn && seen.insert(in).second) stack.push_back({in, 0});
      continue;
    }
    order.push_back(t);
    stack.pop_back();
  }

  NoGradGuard ng;  // backward functions are not themselves recorded
  std::unordered_map<TensorImpl*, std::shared_ptr<TensorImpl>> grads;
  if (grad_fn()) {
    grads[impl()] = seed.impl_ptr();
  } else {
    accumulate(impl()->grad, seed, true);
    if (on_leaf_ready) on_leaf_ready(*this);
    return;
  }
  // For the hook: how many recorded uses of each leaf are still to run. A leaf is final when
  // its count reaches zero; one whose feeding nodes were skipped (no gradient reached them) is
  // reported after the pass.
  std::unordered_map<TensorImpl*, int64_t> pending;
  std::vector<Tensor> leaf_order;
  if (on_leaf_ready)
    for (TensorImpl* t : order)
      for (const Tensor& in : t->grad_fn->inputs)
        if (in.defined() && in.requires_grad() && !in.grad_fn() && pending[in.impl()]++ == 0)
          leaf_order.push_back(in);
  std::unordered_set<TensorImpl*> reported;
  auto used = [&](const Tensor& leaf) {
    auto it = pending.find(leaf.impl());
    if (it == pending.end() || --it->second > 0) return;
    if (leaf.impl()->grad && reported.insert(leaf.impl()).second) on_leaf_ready(leaf);
  };
  // Without retain_graph the nodes let go of their inputs once the pass is done (not during it:
  // `order` holds raw pointers); `nodes` keeps each alive until all are released.
  struct Release {
    std::vector<std::shared_ptr<Node>> nodes;
    bool on;
    ~Release() {
      if (!on) return;
      for (auto& n : nodes) n->released = true, n->inputs.clear();
    }
  } release{{}, !retain_graph};
  if (!retain_graph)
    for (TensorImpl* t : order)
      if (t->grad_fn) release.nodes.push_back(t->grad_fn);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* t = *it;
    auto found = grads.find(t);
    if (found == grads.end()) continue;
    Tensor g(found->second);
    grads.erase(found);
    Node& node = *t->grad_fn;
    std::vector<Tensor> in_grads = node.backward(g);
    SDKD_CHECK(in_grads.size() == node.inputs.size(), node.name(), " returned ", in_grads.size(),
               " gradients for ", node.inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      const Tensor& in = node.inputs[i];
      const Tensor& gi = in_grads[i];
      if (!in.defined() || !in.requires_grad()) continue;
      if (gi.defined()) {
        SDKD_CHECK(gi.shape() == in.shape(), node.name(), ": gradient ", shape_str(gi.shape()),
                   " for input ", i, " of shape ", shape_str(in.shape()));
        if (in.grad_fn()) accumulate(grads[in.impl()], gi, false);
        else accumulate(in.impl()->grad, gi, true);
      }
      if (on_leaf_ready && !in.grad_fn()) used(in);
    }
  }
  if (on_leaf_ready)  // leaves whose last use was skipped or gave no gradient, in a fixed order
    for (const Tensor& leaf : leaf_order)
      if (leaf.impl()->grad && reported.insert(leaf.impl()).second) on_leaf_ready(leaf);
}

}  // namespace sdkd
