#include "sdkd/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "dispatch.hpp"
#include "tensor_impl.hpp"
#include "host_cache.hpp"
#include "kernels/cpu/copy.hpp"
#include "kernels/cuda/copy.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

#ifdef SDKD_WITH_CUDA
#include "runtime/cuda_runtime.hpp"
#endif

namespace sdkd {

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device{};
  if (text == "cuda") return Device{DeviceType::cuda, 0};
  if (text.rfind("cuda:", 0) == 0) {
    const std::string idx = text.substr(5);
    SDKD_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
               "device '", text, "': expected cpu, cuda or cuda:N");
    return Device{DeviceType::cuda, std::stoi(idx)};
  }
  throw Error(str_cat("device '", text, "': expected cpu, cuda or cuda:N"));
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
    st[size_t(i)] = acc;
    acc *= std::max<int64_t>(shape[size_t(i)], 1);
  }
  return st;
}

Storage::Storage(size_t bytes, Device dev, bool pinned_host) : nbytes(bytes), device(dev) {
  if (dev.is_cuda()) {
    require_cuda("allocating a tensor", dev.index);
    SDKD_CUDA_ONLY(data = cuda_rt::alloc(bytes, dev.index));
    return;
  }
#ifdef SDKD_WITH_CUDA
  // Pinned only where a GPU can use it; a refusal (locked-memory limit) falls back to pageable.
  if (pinned_host && bytes > 0 && cuda_device_count() > 0) {
    data = cuda_rt::alloc_pinned(bytes);
    pinned = data != nullptr;
    if (pinned) {
      note_host_alloc(int64_t(nbytes));
      return;
    }
  }
#else
  (void)pinned_host;
#endif
  data = detail::host_alloc(bytes);
  note_host_alloc(int64_t(nbytes));
}

Storage::~Storage() {
  if (device.is_cuda()) {
    SDKD_CUDA_ONLY(cuda_rt::free(data, nbytes, device.index));
    return;
  }
  if (pinned) SDKD_CUDA_ONLY(cuda_rt::free_pinned(data));
  else detail::host_free(data, nbytes);
  note_host_free(int64_t(nbytes));
}

namespace {

// The bytes a contiguous tensor of this shape needs, refusing negative dimensions and sizes
// whose byte count would overflow (a corrupt file's header must not wrap into a small block).
size_t storage_bytes(const Shape& shape, DType dtype) {
  constexpr int64_t kMaxBytes = int64_t(1) << 62;
  int64_t bytes = dtype_size(dtype);
  for (auto d : shape) SDKD_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  for (auto d : shape)
    if (d == 0) return 0;
  for (auto d : shape) {
    SDKD_CHECK(bytes <= kMaxBytes / d, "tensor of shape ", shape_str(shape), " and dtype ", dtype_name(dtype),
               " is too large to allocate (more than 2^62 bytes)");
    bytes *= d;
  }
  return size_t(bytes);
}

}  // namespace

Tensor make_tensor(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(storage_bytes(shape, dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return make_tensor(shape, dtype, device); }
Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(storage_bytes(shape, dtype), Device{}, true);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = make_tensor(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

namespace {

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else return DType::i32;
}

template <class T>
Tensor tensor_from(const std::vector<T>& values, const Shape& shape) {
  SDKD_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape));
  Tensor t = make_tensor(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

// Fills a new tensor with draw(i) for element i; the draws are counter-based, so the
// parallel loop gives the same numbers for any thread count.
template <class Draw>
Tensor tensor_drawn(const Shape& shape, DType dtype, Draw draw) {
  Tensor t = make_tensor(shape, dtype);
  const int64_t n = t.numel();
  SDKD_DISPATCH(dtype, T, {
    T* p = t.data<T>();
_Pragma("omp parallel for schedule(static)")
    for (int64_t i = 0; i < n; ++i) p[i] = T(draw(i));
  });
  return t;
}

}  // namespace

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) { return tensor_from(values, shape); }
Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape) { return tensor_from(values, shape); }
Tensor Tensor::from_vector(const std::vector<int32_t>& values, const Shape& shape) { return tensor_from(values, shape); }

Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  for (auto d : shape) SDKD_CHECK(d >= 0, "randn: negative dimension in shape ", shape_str(shape));
  const uint64_t base = gen.reserve(uint64_t(shape_numel(shape)));
  if (device.is_cuda()) {
    Tensor t = make_tensor(shape, dtype, device);
    SDKD_CUDA_ONLY(gpu::fill_random(detail::cuda_context(t), t.impl()->storage->data, dtype, t.numel(), gen.seed, 0, base, gpu::RandomKind::normal));
    return t;
  }
  return tensor_drawn(shape, dtype, [&](int64_t i) { return Philox::normal(gen.seed, 0, base + uint64_t(i)); });
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  for (auto d : shape) SDKD_CHECK(d >= 0, "rand: negative dimension in shape ", shape_str(shape));
  const uint64_t base = gen.reserve(uint64_t(shape_numel(shape)));
  if (device.is_cuda()) {
    Tensor t = make_tensor(shape, dtype, device);
    SDKD_CUDA_ONLY(gpu::fill_random(detail::cuda_context(t), t.impl()->storage->data, dtype, t.numel(), gen.seed, 1, base, gpu::RandomKind::uniform_01));
    return t;
  }
  // to_unit gives (0, 1]; 1 - u maps it onto [0, 1) as documented.
  return tensor_drawn(shape, dtype, [&](int64_t i) { return 1.0 - Philox::uniform(gen.seed, 1, base + uint64_t(i)); });
}

const Shape& Tensor::shape() const { return impl_->shape; }
const Shape& Tensor::strides() const { return impl_->strides; }
DType Tensor::dtype() const { return impl_->dtype; }
Device Tensor::device() const { return impl_->storage->device; }
bool Tensor::is_pinned() const { return impl_->storage->pinned; }
bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}
bool Tensor::requires_grad() const { return impl_->requires_grad; }
Tensor Tensor::grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }
void Tensor::zero_grad() { impl_->grad.reset(); }
void Tensor::set_grad(const Tensor& g) const {
  SDKD_CHECK(!g.defined() || (g.shape() == shape() && g.dtype() == dtype() && g.device() == device()),
             "set_grad: gradient ", g.defined() ? g.str() : std::string(), " does not match the tensor ", str());
  impl_->grad = g.impl_ptr();
}
const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }

int64_t Tensor::size(int64_t d) const { return shape()[size_t(detail::wrap_dim(d, dim(), "size"))]; }

bool Tensor::is_contiguous() const {
  // No elements, no layout: Tensor::zeros({3, 0}) gets strides (1, 1), which the walk below
  // would call strided (the expected stride of dim 0 is 0) and fill_ then refused.
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    const int64_t n = impl_->shape[size_t(i)];
    if (n == 1) continue;
    if (impl_->strides[size_t(i)] != expected) return false;
    expected *= n;
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype())) + shape_str(shape());
}

template <class T>
T* Tensor::data() const {
  constexpr DType want = dtype_of<T>();
  SDKD_CHECK(impl_->dtype == want, "data<", dtype_name(want), ">() on a ", str(), " tensor");
  return static_cast<T*>(impl_->storage->data) + impl_->offset;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;

double Tensor::item() const {
  SDKD_CHECK(numel() == 1, "item() needs a one-element tensor, got ", str());
  if (device().is_cuda()) return to(Device{}).item();
  double v = 0;
  SDKD_DISPATCH_ALL(dtype(), T, v = double(*data<T>()));
  return v;
}

// Visits every element of a strided view in row-major order.
template <class T, class F>
static void for_each_strided(const Tensor& t, F&& f) {
  const auto& shape = t.shape();
  const auto& st = t.strides();
  const int64_t nd = t.dim(), n = t.numel();
  const T* base = t.data<T>();
  if (t.is_contiguous()) {
    for (int64_t i = 0; i < n; ++i) f(i, base[i]);
    return;
  }
  std::vector<int64_t> idx(size_t(nd), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, base[off]);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < shape[size_t(d)]) {
        off += st[size_t(d)];
        break;
      }
      off -= st[size_t(d)] * (shape[size_t(d)] - 1);
      idx[size_t(d)] = 0;
    }
  }
}

std::vector<float> Tensor::to_float_vector() const {
  if (device().is_cuda()) return to(Device{}).to_float_vector();
  std::vector<float> out(static_cast<size_t>(numel()));
  SDKD_DISPATCH_ALL(dtype(), T, for_each_strided<T>(*this, [&](int64_t i, T v) { out[size_t(i)] = float(v); }));
  return out;
}

std::vector<double> Tensor::to_double_vector() const {
  if (device().is_cuda()) return to(Device{}).to_double_vector();
  std::vector<double> out(static_cast<size_t>(numel()));
  SDKD_DISPATCH_ALL(dtype(), T, for_each_strided<T>(*this, [&](int64_t i, T v) { out[size_t(i)] = double(v); }));
  return out;
}

namespace {

// Gradient of a copy-like op (contiguous, clone, dtype conversion): the gradient itself,
// converted back to the input's dtype.
struct CopyBackward : Node {
  DType in_dtype;
  std::vector<Tensor> backward(const Tensor& g) override { return {g.to(in_dtype)}; }
  const char* name() const override { return "CopyBackward"; }
};

// The CUDA copy and fill kernels are instantiated for the floating types; int32 tensors on a
// GPU (band tables) are uploaded contiguous and only read by kernels.
void require_floating_on_cuda(DType a, DType b, const char* what) {
  SDKD_CHECK(is_floating(a) && is_floating(b), what, ": int32 tensors on a CUDA device can only be moved (.to(device)), ",
             "not converted, filled or copied there; do that on the CPU");
}

Tensor raw_copy(const Tensor& src, DType dtype) {
  Tensor out = make_tensor(src.shape(), dtype, src.device());
  if (src.device().is_cuda()) {
    require_floating_on_cuda(src.dtype(), dtype, "copy");
    SDKD_CUDA_ONLY(gpu::copy_strided(detail::cuda_context(out), out.impl()->storage->data, dtype,
                                     static_cast<const char*>(src.impl()->storage->data) +
                                         src.impl()->offset * int64_t(dtype_size(src.dtype())),
                                     src.dtype(), gpu::make_view(src.shape(), src.strides(), "copy"), src.numel()));
    return out;
  }
  SDKD_DISPATCH_ALL(dtype, D, {
    D* dst = out.data<D>();
    SDKD_DISPATCH_ALL(src.dtype(), S, cpu::copy_strided<S, D>(src.data<S>(), src.shape(), src.strides(), dst));
  });
  return out;
}

// Copies a tensor between devices: made contiguous on its own device first, then moved as bytes.
Tensor raw_transfer(const Tensor& src, Device to) {
  // Contiguous views go as they are (item() and every metrics batch come this way); only
  // strided views are packed first, with the kernel on a GPU.
  const Tensor c = src.is_contiguous() ? src : src.device().is_cuda() ? raw_copy(src, src.dtype()) : src.contiguous();
  Tensor out = make_tensor(src.shape(), src.dtype(), to);
  [[maybe_unused]] const size_t bytes = size_t(src.numel()) * dtype_size(src.dtype());
  [[maybe_unused]] const void* from = static_cast<const char*>(c.impl()->storage->data) + c.impl()->offset * int64_t(dtype_size(c.dtype()));
  [[maybe_unused]] void* dst = out.impl()->storage->data;
  if (to.is_cuda() && src.device().is_cuda()) {
    SDKD_CHECK(to == src.device(), "copy from ", src.device().str(), " to ", to.str(),
               ": copies between two GPUs go through the host in this release");
  }
  SDKD_CUDA_ONLY({
    if (to.is_cuda() && c.impl()->storage->pinned)
      cuda_rt::copy_h2d_pinned(dst, from, bytes, to.index);  // direct, no staging copy
    else if (to.is_cuda())
      cuda_rt::copy_h2d(dst, from, bytes, to.index);
    else
      cuda_rt::copy_d2h(dst, from, bytes, src.device().index);
  });
  return out;
}

struct TransferBackward : Node {
  Device from;
  std::vector<Tensor> backward(const Tensor& g) override { return {g.to(from)}; }
  const char* name() const override { return "TransferBackward"; }
};

Tensor copy_with_grad(const Tensor& src, DType dtype) {
  Tensor out = raw_copy(src, dtype);
  if (needs_grad({&src})) {
    auto node = std::make_shared<CopyBackward>();
    node->inputs = {src};
    node->in_dtype = src.dtype();
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : copy_with_grad(*this, dtype()); }
Tensor Tensor::clone() const { return copy_with_grad(*this, dtype()); }
Tensor Tensor::to(DType d) const { return d == dtype() ? *this : copy_with_grad(*this, d); }

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  if (d.is_cuda()) require_cuda("moving a tensor", d.index);
  Tensor out = raw_transfer(*this, d);
  if (needs_grad({this})) {
    auto node = std::make_shared<TransferBackward>();
    node->inputs = {*this};
    node->from = device();
    record(out, node);
  }
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->requires_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(std::move(impl));
}

Tensor& Tensor::set_requires_grad(bool r) {
  SDKD_CHECK(!r || is_leaf(), "set_requires_grad: only leaf tensors can be made to require grad");
  SDKD_CHECK(!r || is_floating(dtype()), "set_requires_grad: ", str(), " has no gradient (only float tensors do)");
  impl_->requires_grad = r;
  return *this;
}

Tensor& Tensor::fill_(double value) {
  SDKD_CHECK(is_contiguous(), "fill_: needs a contiguous tensor, got strides ", shape_str(strides()));
  const int64_t n = numel();
  if (device().is_cuda()) {
    require_floating_on_cuda(dtype(), dtype(), "fill_");
    SDKD_CUDA_ONLY(gpu::fill(detail::cuda_context(device()), static_cast<char*>(impl_->storage->data) + impl_->offset * int64_t(dtype_size(dtype())),
                             dtype(), n, value));
    return *this;
  }
  SDKD_DISPATCH_ALL(dtype(), T, {
    T* p = data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = T(value);
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  SDKD_CHECK(src.shape() == shape(), "copy_: shape ", shape_str(src.shape()), " into ", shape_str(shape()));
  SDKD_CHECK(is_contiguous(), "copy_: destination must be contiguous");
  if (numel() == 0) return *this;
  const Tensor moved = src.device() == device() ? src : raw_transfer(src, device());
  Tensor c = raw_copy(moved, dtype());
  const size_t bytes = size_t(numel()) * dtype_size(dtype());
  if (device().is_cuda()) {
    SDKD_CUDA_ONLY(cuda_rt::copy_d2d(static_cast<char*>(impl_->storage->data) + impl_->offset * int64_t(dtype_size(dtype())),
                                     c.impl()->storage->data, bytes, device().index));
    return *this;
  }
  SDKD_DISPATCH_ALL(dtype(), T, std::memcpy(data<T>(), c.data<T>(), bytes));
  return *this;
}

}  // namespace sdkd
