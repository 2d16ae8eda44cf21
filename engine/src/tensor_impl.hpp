#pragma once
// What a Tensor is made of, private to the engine (the public tensor.hpp only names these
// types): a buffer, and a strided view of it with its autograd links.
#include <memory>

#include "sdkd/tensor.hpp"

namespace sdkd {

// A raw buffer. CPU buffers are 64-byte aligned so loops vectorise. `pinned`: a host buffer in
// page-locked memory (Tensor::empty_pinned), copied to a GPU directly and asynchronously.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  bool pinned = false;
  Storage(size_t bytes, Device dev, bool pinned_host = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape, strides;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
};

}  // namespace sdkd
