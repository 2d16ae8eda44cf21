// Matrix products through the CPU GEMM (CBLAS or the blocked fallback), and on CUDA through
// gpu::gemm (kernels/cuda/gemm.hpp: SIMT fp32, TF32 tensor cores or cuBLAS; the engine passes
// sdkd::gemm_backend() to every call). The CUDA path reads strided operands in place when
// their matrices are row- or column-major with a uniform batch stride (transposed weights,
// sliced rows), instead of copying them; everything else is made contiguous first.
#include <algorithm>

#include "dispatch.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cuda/gemm.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

namespace sdkd {

namespace {

// C[b] = op(A[b]) op(B[b]) for a batch; a stride of 0 shares an operand across the batch.
template <class T>
void batched_gemm(bool ta, bool tb, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA,
                  const T* B, int64_t sB, T beta, T* C, int64_t sC) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  for (int64_t i = 0; i < batch; ++i)
    cpu::gemm<T>(ta, tb, M, N, K, T(1), A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, N);
}

struct MatmulBackward : Node {
  Tensor a, b;  // contiguous, detached
  bool b_shared;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    const int64_t K = a.size(-1), M = a.size(-2), N = b.size(-1);
    const int64_t batch = a.numel() / (M * K);
    Tensor da, db;
    SDKD_DISPATCH(a.dtype(), T, {
      if (inputs[0].requires_grad()) {  // dA = G B^T
        da = make_tensor(a.shape(), a.dtype());
        batched_gemm<T>(false, true, batch, M, K, N, g.data<T>(), M * N, b.data<T>(), b_shared ? 0 : K * N, T(0),
                        da.data<T>(), M * K);
      }
      if (inputs[1].requires_grad()) {  // dB = A^T G (summed over the batch when B is shared)
        db = Tensor::zeros(b.shape(), b.dtype());
        if (b_shared)
          cpu::gemm<T>(true, false, K, N, batch * M, T(1), a.data<T>(), K, g.data<T>(), N, T(0), db.data<T>(), N);
        else
          batched_gemm<T>(true, false, batch, K, N, M, a.data<T>(), M * K, g.data<T>(), M * N, T(0), db.data<T>(), K * N);
      }
    });
    return {da, db};
  }
  const char* name() const override { return "MatmulBackward"; }
};


// ---------------------------------------------------------------------------------------
// CUDA (float32)
// ---------------------------------------------------------------------------------------

// How an operand's matrices lie in memory, in gpu::gemm's terms: dims [0, batch_dims) are the
// batch, dims [batch_dims, ndim - 1) collapse into the rows, the last dim is the columns.
struct MatLayout {
  bool trans = false;      // stored column-major: the matrix's transpose is row-major
  int64_t ld = 1;          // leading dimension of the stored (row-major) matrix
  int64_t batch_stride = 0;
};

// Dims [begin, end) of t as one index with one stride. `any` when they hold at most one
// element (the stride is then never used). False when no single stride describes them.
bool collapse_dims(const Tensor& t, int64_t begin, int64_t end, int64_t& stride, bool& any) {
  any = true;
  stride = 0;
  int64_t expect = 0;
  for (int64_t d = end - 1; d >= begin; --d) {
    const int64_t n = t.size(d), s = t.strides()[size_t(d)];
    if (n == 0) {  // no elements at all: nothing is read
      any = true;
      return true;
    }
    if (n == 1) continue;
    if (any) {
      any = false;
      stride = s;
    } else if (s != expect) {
      return false;
    }
    expect = s * n;
  }
  return true;
}

bool describe_matrix(const Tensor& t, int64_t batch_dims, MatLayout& out) {
  const int64_t nd = t.dim();
  int64_t bs = 0, rs = 0;
  bool bany = true, rany = true;
  if (!collapse_dims(t, 0, batch_dims, bs, bany) || !collapse_dims(t, batch_dims, nd - 1, rs, rany)) return false;
  int64_t rows = 1;
  for (int64_t d = batch_dims; d < nd - 1; ++d) rows *= t.size(d);
  const int64_t cols = t.size(-1), cs = t.strides().back();
  const bool cany = cols <= 1 || t.numel() == 0;
  if (t.numel() == 0) rany = true;
  out.batch_stride = bany ? 0 : bs;
  if ((cany || cs == 1) && (rany || rs >= cols)) {
    out.trans = false;
    out.ld = std::max<int64_t>(rany ? cols : rs, 1);
    return true;
  }
  if ((rany || rs == 1) && (cany || cs >= rows)) {
    out.trans = true;
    out.ld = std::max<int64_t>(cany ? rows : cs, 1);
    return true;
  }
  return false;
}

// An operand ready for gpu::gemm: t itself when describe_matrix accepts it, else a
// contiguous copy. Detached either way (saved tensors carry no history).
struct GemmOperand {
  Tensor t;
  MatLayout layout;
};

GemmOperand gemm_operand(const Tensor& t, int64_t batch_dims) {
  GemmOperand op{t.detach(), {}};
  if (!describe_matrix(op.t, batch_dims, op.layout)) {
    op.t = op.t.contiguous();
    const bool ok = describe_matrix(op.t, batch_dims, op.layout);
    SDKD_CHECK(ok, "gemm operand: internal error, a contiguous ", op.t.str(), " has no GEMM layout");
  }
  return op;
}

struct MatmulCudaBackward : Node {
  GemmOperand a, b;  // a: rows = all leading dims when shared, else batched like b
  bool shared = false;
  int64_t batch = 1, M = 0, N = 0, K = 0;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();
    Tensor da, db;
    SDKD_CUDA_ONLY({
      const MatLayout& la = a.layout;
      const MatLayout& lb = b.layout;
      if (inputs[0].requires_grad()) {  // dA = G op(B)^T
        da = make_tensor(a.t.shape(), DType::f32, g.device());
        if (shared)
          gpu::gemm(gemm_backend(), false, !lb.trans, batch * M, K, N, 1.f, g.data<float>(), N, 0, b.t.data<float>(), lb.ld, 0, 0.f,
                    da.data<float>(), K, 0, 1);
        else
          gpu::gemm(gemm_backend(), false, !lb.trans, M, K, N, 1.f, g.data<float>(), N, M * N, b.t.data<float>(), lb.ld,
                    lb.batch_stride, 0.f, da.data<float>(), K, M * K, batch);
      }
      if (inputs[1].requires_grad()) {  // dB = op(A)^T G, summed over the batch when B is shared
        db = make_tensor(b.t.shape(), DType::f32, g.device());
        if (shared)  // one GEMM over all batch * M rows does the batch sum inside the K loop
          gpu::gemm(gemm_backend(), !la.trans, false, K, N, batch * M, 1.f, a.t.data<float>(), la.ld, 0, g.data<float>(), N, 0, 0.f,
                    db.data<float>(), N, 0, 1);
        else
          gpu::gemm(gemm_backend(), !la.trans, false, K, N, M, 1.f, a.t.data<float>(), la.ld, la.batch_stride, g.data<float>(), N,
                    M * N, 0.f, db.data<float>(), N, K * N, batch);
      }
    });
    return {da, db};
  }
  const char* name() const override { return "MatmulBackward"; }
};

// Shapes are checked by matmul(); `shared` means b is one (K, N) matrix for the whole batch.
Tensor matmul_cuda(const Tensor& a, const Tensor& b, bool shared) {
  detail::require_same_device(a, b, "matmul");
  detail::require_f32_on_cuda(a, "matmul");
  detail::require_f32_on_cuda(b, "matmul");
  const int64_t K = a.size(-1), M = a.size(-2), N = b.size(-1);
  const int64_t batch = a.numel() / std::max<int64_t>(M * K, 1);
  Shape out_shape = a.shape();
  out_shape.back() = N;
  Tensor out = make_tensor(out_shape, DType::f32, a.device());
  FlopCounter::add(2 * batch * M * N * K);
  // Shared B: all batch * M rows of A form one matrix, so one GEMM fills the GPU better.
  GemmOperand A = gemm_operand(a, shared ? 0 : a.dim() - 2), B = gemm_operand(b, b.dim() - 2);
  SDKD_CUDA_ONLY({
    if (shared)
      gpu::gemm(gemm_backend(), A.layout.trans, B.layout.trans, batch * M, N, K, 1.f, A.t.data<float>(), A.layout.ld, 0,
                B.t.data<float>(), B.layout.ld, 0, 0.f, out.data<float>(), N, 0, 1);
    else
      gpu::gemm(gemm_backend(), A.layout.trans, B.layout.trans, M, N, K, 1.f, A.t.data<float>(), A.layout.ld, A.layout.batch_stride,
                B.t.data<float>(), B.layout.ld, B.layout.batch_stride, 0.f, out.data<float>(), N, M * N, batch);
  });
  if (needs_grad({&a, &b})) {
    auto node = std::make_shared<MatmulCudaBackward>();
    node->inputs = {a, b};
    node->a = std::move(A);
    node->b = std::move(B);
    node->shared = shared;
    node->batch = batch;
    node->M = M;
    node->N = N;
    node->K = K;
    record(out, node);
  }
  return out;
}

// y = x W^T + bias as one GEMM with the bias added in place; x's leading dims are the rows.
struct LinearCudaBackward : Node {
  GemmOperand x, w;  // x: (rows, K) with all leading dims as rows; w: (N, K)
  int64_t rows = 0, N = 0, K = 0;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const Tensor g = gout.contiguous();  // (rows, N)
    Tensor dx, dw, db;
    SDKD_CUDA_ONLY({
      const MatLayout& lx = x.layout;
      const MatLayout& lw = w.layout;
      if (inputs[0].requires_grad()) {  // dX = G W
        dx = make_tensor(x.t.shape(), DType::f32, g.device());
        gpu::gemm(gemm_backend(), false, lw.trans, rows, K, N, 1.f, g.data<float>(), N, 0, w.t.data<float>(), lw.ld, 0, 0.f,
                  dx.data<float>(), K, 0, 1);
      }
      if (inputs[1].requires_grad()) {  // dW = G^T X
        dw = make_tensor(w.t.shape(), DType::f32, g.device());
        gpu::gemm(gemm_backend(), true, lx.trans, N, K, rows, 1.f, g.data<float>(), N, 0, x.t.data<float>(), lx.ld, 0, 0.f,
                  dw.data<float>(), K, 0, 1);
      }
      if (inputs.size() > 2 && inputs[2].requires_grad()) {  // db = column sums of G
        db = make_tensor({N}, DType::f32, g.device());
        const int64_t ws = gpu::column_sum_workspace(rows, N);
        Tensor work = ws > 0 ? make_tensor({ws}, DType::f32, g.device()) : Tensor();
        gpu::column_sum(db.data<float>(), g.data<float>(), rows, N, ws > 0 ? work.data<float>() : nullptr);
      }
    });
    return {dx, dw, db};
  }
  const char* name() const override { return "LinearBackward"; }
};

Tensor linear_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::require_same_device(x, weight, "linear");
  detail::require_same_device(x, bias, "linear");
  detail::require_f32_on_cuda(x, "linear");
  detail::require_f32_on_cuda(weight, "linear");
  if (bias.defined()) detail::require_f32_on_cuda(bias, "linear");
  const int64_t N = weight.size(0), K = weight.size(1);
  if (bias.defined() && !(bias.dim() == 1 && bias.size(0) == N)) {
    // A bias of another broadcastable shape: the composite form, as on the CPU.
    Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
    Tensor y = add(matmul(x2, weight.transpose(0, 1)), bias);
    return x.dim() == 1 ? y.squeeze(0) : y;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d < x.dim() - 1; ++d) rows *= x.size(d);
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = make_tensor(out_shape, DType::f32, x.device());
  FlopCounter::add(2 * rows * N * K);  // as the CPU's matmul counts it
  GemmOperand X = gemm_operand(x, 0), W = gemm_operand(weight, 0);
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  SDKD_CUDA_ONLY({
    // op(B) = W^T: flip W's own storage order.
    gpu::gemm(gemm_backend(), X.layout.trans, !W.layout.trans, rows, N, K, 1.f, X.t.data<float>(), X.layout.ld, 0,
              W.t.data<float>(), W.layout.ld, 0, 0.f, out.data<float>(), N, 0, 1);
    if (b.defined()) gpu::add_row_bias(out.data<float>(), b.data<float>(), rows, N);
  });
  if (needs_grad({&x, &weight, &bias})) {
    auto node = std::make_shared<LinearCudaBackward>();
    node->inputs = {x, weight, bias};
    node->x = std::move(X);
    node->w = std::move(W);
    node->rows = rows;
    node->N = N;
    node->K = K;
    record(out, node);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const bool cuda = detail::on_cuda(a) || detail::on_cuda(b);
  if (!cuda) {
    detail::require_cpu(a, "matmul");
    detail::require_cpu(b, "matmul");
  }
  detail::require_defined(a, "matmul");
  detail::require_defined(b, "matmul");
  detail::require_same_dtype(a, b, "matmul");
  SDKD_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: needs operands of at least 2 dims, got ", a.str(), " and ", b.str());
  SDKD_CHECK(a.size(-1) == b.size(-2), "matmul: inner dimensions differ, ", shape_str(a.shape()), " @ ",
             shape_str(b.shape()));
  const bool shared = b.dim() == 2;
  if (!shared) {
    SDKD_CHECK(a.dim() == b.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()),
               "matmul: batch dimensions differ, ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
  }
  if (cuda) return matmul_cuda(a, b, shared);
  const Tensor ac = a.contiguous().detach(), bc = b.contiguous().detach();
  const int64_t K = a.size(-1), M = a.size(-2), N = b.size(-1);
  const int64_t batch = a.numel() / std::max<int64_t>(M * K, 1);
  Shape out_shape = a.shape();
  out_shape.back() = N;
  Tensor out = make_tensor(out_shape, a.dtype());
  FlopCounter::add(2 * batch * M * N * K);
  SDKD_DISPATCH(a.dtype(), T, {
    if (shared)  // one GEMM over all rows of the batch
      cpu::gemm<T>(false, false, batch * M, N, K, T(1), ac.data<T>(), K, bc.data<T>(), N, T(0), out.data<T>(), N);
    else
      batched_gemm<T>(false, false, batch, M, N, K, ac.data<T>(), M * K, bc.data<T>(), K * N, T(0), out.data<T>(), M * N);
  });
  if (needs_grad({&a, &b})) {
    auto node = std::make_shared<MatmulBackward>();
    node->inputs = {a, b};
    node->a = ac;
    node->b = bc;
    node->b_shared = shared;
    record(out, node);
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SDKD_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got ", weight.str());
  SDKD_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()),
             " does not end in the weight's in_features ", weight.size(1));
  if (detail::on_cuda(x) || detail::on_cuda(weight)) return linear_cuda(x, weight, bias);
  Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
  Tensor y = matmul(x2, weight.transpose(0, 1));
  if (bias.defined()) y = add(y, bias);
  return x.dim() == 1 ? y.squeeze(0) : y;
}

}  // namespace sdkd
