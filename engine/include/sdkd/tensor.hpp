#pragma once
// Tensor: a strided view of a reference-counted buffer, with the autograd fields.
// Copying a Tensor copies the handle (like torch.Tensor), not the data.
#include <functional>
#include <memory>
#include <vector>

#include "sdkd/dtype.hpp"
#include "sdkd/rng.hpp"

namespace sdkd {

struct Node;

// The buffer and the fields behind a Tensor (storage, offset, shape, strides, dtype, autograd
// links) are the engine's own (engine/src/tensor_impl.hpp): outside it they are opaque, so
// they can change without changing this API. A Tensor is used through its methods only.
struct Storage;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation (on the CPU unless a device is given) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device{});
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device{});
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device{});
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device{});
  static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device{});
  // A host tensor in page-locked memory when this build has CUDA and a GPU is usable, so that
  // .to(cuda) copies it without a staging copy and without blocking; plain host memory
  // otherwise (CPU-only builds, no GPU). Such a copy is asynchronous: do not write the tensor
  // after moving it (the data loader fills each batch once, then only reads it).
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape);
  // Standard normal / uniform [0,1) numbers from a counter-based generator: element i of the
  // result is number (gen.offset + i) of the sequence, whatever the thread count.
  // The CUDA twin draws the same numbers from the same Philox code.
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device{});
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device{});

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_pinned() const;
  // Whether this tensor and `other` view the same buffer (a view, not a copy).
  bool shares_storage(const Tensor& other) const;
  bool is_contiguous() const;
  // The engine's handle on the fields (an incomplete type outside the engine): identity only.
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str() const;  // "float32[2, 3]"

  // Pointer to element 0 of the view (a device pointer for CUDA tensors). T must match dtype.
  template <class T> T* data() const;
  double item() const;                       // a one-element tensor's value (waits for the device)
  std::vector<float> to_float_vector() const;   // contiguous host copy, converted
  std::vector<double> to_double_vector() const;

  // ---- copies and conversions (record autograd where meaningful) ----
  Tensor contiguous() const;  // itself if already contiguous
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;  // itself if already there; the gradient flows back
  Tensor detach() const;  // same data, no grad history

  // ---- views (share storage; differentiable) ----
  Tensor reshape(const Shape& shape) const;  // one dim may be -1; copies if not viewable
  Tensor view(const Shape& shape) const { return reshape(shape); }
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // slice + squeeze
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r);
  Tensor grad() const;
  void zero_grad();
  // Makes g (same shape, dtype and device, or undefined for none) this leaf's gradient, shared,
  // not copied: a replayed CUDA graph writes its gradients into fixed buffers (train/). A later
  // backward adds to it out of place (a new buffer), as every accumulation does.
  void set_grad(const Tensor& g) const;
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  // Reverse-mode pass from this tensor; grad defaults to 1 for a one-element tensor. As in
  // PyTorch, the pass releases the graph behind it (each node lets go of its inputs, so the
  // forward's activations can be freed): a second backward through any of its nodes throws,
  // unless the first one was given retain_graph = true.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // The same pass, calling on_leaf_ready(leaf) as soon as a leaf's .grad is final for this pass
  // (every recorded use of it has run its backward): a data-parallel reducer starts sending a
  // bucket of gradients while the rest of backward still runs. Each leaf that receives a
  // gradient is reported once, in the order they become ready; the hook runs on this thread.
  void backward(const Tensor& grad, bool retain_graph, const std::function<void(const Tensor& leaf)>& on_leaf_ready) const;

  // ---- in-place (no autograd; for optimizers, initialisers and buffers) ----
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // same shape; converts dtype; src may be on another device

 private:
  std::shared_ptr<TensorImpl> impl_;
};

Shape contiguous_strides(const Shape& shape);
// Makes a tensor over a fresh contiguous buffer.
Tensor make_tensor(const Shape& shape, DType dtype, Device device = Device{});

}  // namespace sdkd
