// Views share storage with their input; their backward maps the gradient back onto the
// input's shape (reshape back, inverse permutation, scatter into zeros for slices).
#include <algorithm>
#include <numeric>

#include "dispatch.hpp"
#include "tensor_impl.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

namespace sdkd {

namespace {

// dst <- src element for element on the GPU; both are views of the same shape (dst usually a
// strided window into a larger tensor).
void copy_into_view_cuda([[maybe_unused]] const Tensor& dst, const Tensor& src, const char* op) {
  detail::require_f32_on_cuda(src, op);
  SDKD_CUDA_ONLY(gpu::copy_view(detail::cuda_context(dst), dst.data<float>(),
                                gpu::make_view(dst.shape(), dst.strides(), op), src.data<float>(),
                                gpu::make_view(src.shape(), src.strides(), op), src.numel()));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

struct ReshapeBackward : Node {
  Shape in_shape;
  std::vector<Tensor> backward(const Tensor& g) override { return {g.reshape(in_shape)}; }
  const char* name() const override { return "ReshapeBackward"; }
};

struct PermuteBackward : Node {
  std::vector<int64_t> inverse;
  std::vector<Tensor> backward(const Tensor& g) override { return {g.permute(inverse)}; }
  const char* name() const override { return "PermuteBackward"; }
};

struct SliceBackward : Node {
  Shape in_shape;
  int64_t dim, start, step;
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor gi = Tensor::zeros(in_shape, g.dtype(), g.device());
    Tensor window = gi.slice(dim, start, start + step * (g.size(dim) - 1) + 1, step);
    if (detail::on_cuda(g)) {
      copy_into_view_cuda(window, g, "slice backward");
      return {gi};
    }
    // Write g into the strided window of the zero gradient.
    const Tensor gc = g.contiguous();
    SDKD_DISPATCH(g.dtype(), T, {
      const T* src = gc.data<T>();
      T* dst = window.data<T>();
      const auto& sh = window.shape();
      const auto& st = window.strides();
      const int64_t nd = window.dim(), n = window.numel();
      std::vector<int64_t> idx(size_t(nd), 0);
      int64_t off = 0;
      for (int64_t i = 0; i < n; ++i) {
        dst[off] = src[i];
        for (int64_t d = nd - 1; d >= 0; --d) {
          if (++idx[size_t(d)] < sh[size_t(d)]) { off += st[size_t(d)]; break; }
          off -= st[size_t(d)] * (sh[size_t(d)] - 1);
          idx[size_t(d)] = 0;
        }
      }
    });
    return {gi};
  }
  const char* name() const override { return "SliceBackward"; }
};

// Strides for viewing a tensor as new_shape without copying, or empty if impossible.
// Each run of input dims that is contiguous in memory can be re-split freely.
Shape view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  if (shape_numel(old_shape) == 0) return contiguous_strides(new_shape);
  Shape new_strides(new_shape.size());
  size_t oi = 0, ni = 0;
  const size_t on = old_shape.size(), nn = new_shape.size();
  while (ni < nn || oi < on) {
    // Skip size-1 dims, which carry no stride constraint.
    if (ni < nn && new_shape[ni] == 1) { new_strides[ni] = 1; ++ni; continue; }
    if (oi < on && old_shape[oi] == 1) { ++oi; continue; }
    if (ni >= nn || oi >= on) return {};
    // Gather a contiguous chunk of old dims and a chunk of new dims of equal size.
    int64_t old_size = old_shape[oi], new_size = new_shape[ni];
    size_t o_end = oi + 1, n_end = ni + 1;
    while (old_size != new_size) {
      if (old_size < new_size) {
        if (o_end >= on) return {};
        old_size *= old_shape[o_end++];
      } else {
        if (n_end >= nn) return {};
        new_size *= new_shape[n_end++];
      }
    }
    // The old chunk must be contiguous in memory (ignoring size-1 dims).
    int64_t expected = -1;
    for (size_t k = o_end; k-- > oi;) {
      if (old_shape[k] == 1) continue;
      if (expected != -1 && old_strides[k] != expected) return {};
      expected = old_strides[k] * old_shape[k];
    }
    // Innermost stride of the chunk.
    int64_t inner = 1;
    for (size_t k = o_end; k-- > oi;)
      if (old_shape[k] != 1) { inner = old_strides[k]; break; }
    int64_t acc = inner;
    for (size_t k = n_end; k-- > ni;) {
      new_strides[k] = acc;
      acc *= new_shape[k];
    }
    oi = o_end;
    ni = n_end;
  }
  return new_strides;
}

}  // namespace

Tensor Tensor::reshape(const Shape& requested) const {
  Shape shape = requested;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      SDKD_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(requested));
      infer = int64_t(i);
    } else {
      SDKD_CHECK(shape[i] >= 0, "reshape: negative size in ", shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    SDKD_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 in ", shape_str(requested),
               " for ", numel(), " elements");
    shape[size_t(infer)] = numel() / known;
  }
  SDKD_CHECK(shape_numel(shape) == numel(), "reshape: ", str(), " has ", numel(), " elements, shape ",
             shape_str(requested), " needs ", shape_numel(shape));
  Shape st = view_strides(this->shape(), strides(), shape);
  Tensor out = st.empty() && !shape.empty() ? contiguous().reshape(shape)
                                            : make_view(*this, shape, st, impl()->offset);
  if (st.empty() && !shape.empty()) return out;  // contiguous() already recorded the copy
  if (needs_grad({this})) {
    auto node = std::make_shared<ReshapeBackward>();
    node->inputs = {*this};
    node->in_shape = this->shape();
    record(out, node);
  }
  return out;
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  SDKD_CHECK(int64_t(dims.size()) == dim(), "permute: ", dims.size(), " dims given for a ", dim(), "-d tensor");
  Shape sh(dims.size()), st(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = detail::wrap_dim(dims[i], dim(), "permute");
    SDKD_CHECK(inverse[size_t(d)] < 0, "permute: dimension ", d, " repeated");
    inverse[size_t(d)] = int64_t(i);
    sh[i] = shape()[size_t(d)];
    st[i] = strides()[size_t(d)];
  }
  Tensor out = make_view(*this, sh, st, impl()->offset);
  if (needs_grad({this})) {
    auto node = std::make_shared<PermuteBackward>();
    node->inputs = {*this};
    node->inverse = inverse;
    record(out, node);
  }
  return out;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> p(static_cast<size_t>(this->dim()));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[size_t(detail::wrap_dim(a, dim(), "transpose"))], p[size_t(detail::wrap_dim(b, dim(), "transpose"))]);
  return permute(p);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = detail::wrap_dim(d, dim(), "slice");
  SDKD_CHECK(step >= 1, "slice: step must be >= 1, got ", step);
  const int64_t n = shape()[size_t(d)];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sh = shape(), st = strides();
  sh[size_t(d)] = (end - start + step - 1) / step;
  st[size_t(d)] *= step;
  Tensor out = make_view(*this, sh, st, impl()->offset + start * strides()[size_t(d)]);
  if (needs_grad({this})) {
    auto node = std::make_shared<SliceBackward>();
    node->inputs = {*this};
    node->in_shape = shape();
    node->dim = d;
    node->start = start;
    node->step = step;
    record(out, node);
  }
  return out;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = detail::wrap_dim(d, dim(), "select");
  const int64_t n = shape()[size_t(d)];
  SDKD_CHECK(index >= -n && index < n, "select: index ", index, " out of range for size ", n);
  if (index < 0) index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = detail::wrap_dim(d, dim(), "squeeze");
  SDKD_CHECK(shape()[size_t(d)] == 1, "squeeze: dimension ", d, " has size ", shape()[size_t(d)], ", expected 1");
  Shape sh = shape();
  sh.erase(sh.begin() + d);
  return reshape(sh);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = detail::wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape();
  sh.insert(sh.begin() + d, 1);
  return reshape(sh);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = detail::wrap_dim(start_dim, dim(), "flatten");
  end_dim = detail::wrap_dim(end_dim, dim(), "flatten");
  Shape sh(shape().begin(), shape().begin() + start_dim);
  int64_t m = 1;
  for (int64_t i = start_dim; i <= end_dim; ++i) m *= shape()[size_t(i)];
  sh.push_back(m);
  sh.insert(sh.end(), shape().begin() + end_dim + 1, shape().end());
  return reshape(sh);
}

// ---- cat / stack ----

namespace {
struct CatBackward : Node {
  int64_t dim;
  std::vector<int64_t> sizes;
  std::vector<Tensor> backward(const Tensor& g) override {
    std::vector<Tensor> out;
    int64_t at = 0;
    for (auto s : sizes) {
      out.push_back(g.slice(dim, at, at + s).contiguous());
      at += s;
    }
    return out;
  }
  const char* name() const override { return "CatBackward"; }
};

// The CPU copy of cat: the row blocks of each (contiguous) input into the output rows.
void cat_cpu(const std::vector<Tensor>& xs, int64_t dim, Tensor& out) {
  const Tensor& first = xs[0];
  const Shape& out_shape = out.shape();
  int64_t outer = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= out_shape[size_t(d)];
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < first.dim(); ++d) inner *= out_shape[size_t(d)];
  const int64_t out_row = out_shape[size_t(dim)] * inner;
  SDKD_DISPATCH(first.dtype(), T, {
    T* dst = out.data<T>();
    int64_t at = 0;
    for (const auto& x : xs) {
      const Tensor xc = x.contiguous();
      const T* src = xc.data<T>();
      const int64_t row = x.size(dim) * inner;
_Pragma("omp parallel for schedule(static) if (outer > 8)")
      for (int64_t o = 0; o < outer; ++o) std::copy(src + o * row, src + (o + 1) * row, dst + o * out_row + at);
      at += row;
    }
  });
}
}  // namespace

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  SDKD_CHECK(!xs.empty(), "cat: no tensors given");
  const Tensor& first = xs[0];
  dim = detail::wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[size_t(dim)] = 0;
  for (const auto& x : xs) {
    detail::require_defined(x, "cat");
    detail::require_same_device(first, x, "cat");
    detail::require_same_dtype(first, x, "cat");
    SDKD_CHECK(x.dim() == first.dim(), "cat: ", x.str(), " vs ", first.str());
    for (int64_t d = 0; d < first.dim(); ++d)
      SDKD_CHECK(d == dim || x.size(d) == first.size(d), "cat along dim ", dim, ": shapes ",
                 shape_str(x.shape()), " and ", shape_str(first.shape()), " differ in dim ", d);
    out_shape[size_t(dim)] += x.size(dim);
  }
  Tensor out = make_tensor(out_shape, first.dtype(), first.device());
  if (detail::on_cuda(first)) {
    // Each input is copied into its slice of the output straight from its own strides.
    int64_t at = 0;
    for (const auto& x : xs) {
      const int64_t s = x.size(dim);
      if (s > 0) copy_into_view_cuda(out.slice(dim, at, at + s), x, "cat");
      at += s;
    }
  } else {
    cat_cpu(xs, dim, out);
  }
  bool any = false;
  for (const auto& x : xs) any = any || needs_grad({&x});
  if (any) {
    auto node = std::make_shared<CatBackward>();
    node->inputs = xs;
    node->dim = dim;
    for (const auto& x : xs) node->sizes.push_back(x.size(dim));
    record(out, node);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  SDKD_CHECK(!xs.empty(), "stack: no tensors given");
  std::vector<Tensor> us;
  for (const auto& x : xs) us.push_back(x.unsqueeze(dim));
  return cat(us, dim);
}

}  // namespace sdkd
