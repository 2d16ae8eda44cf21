// Matrix products through the CPU GEMM (CBLAS or the blocked fallback), and on CUDA through
// gpu::gemm (kernels/cuda/gemm.hpp: SIMT fp32, TF32 tensor cores or cuBLAS, as the execution
// context built from sdkd::gemm_backend() says). The CUDA path reads strided operands in place when
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
// Threads over the batch (cpu::gemm_batched): one product per thread at a time. A loop of
// multi-threaded products was 2x slower on 2 threads than on 1 for AlterNet's 80 score
// matrices (256 x 256 x 32): OpenBLAS splits each small product and pays its threads' hand-off
// 80 times.
template <class T>
void batched_gemm(bool ta, bool tb, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA,
                  const T* B, int64_t sB, T beta, T* C, int64_t sC) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  cpu::gemm_batched<T>(ta, tb, M, N, K, T(1), A, lda, B, ldb, beta, C, N, batch, sA, sB, sC);
}

// ---------------------------------------------------------------------------------------
// Operands. The CUDA GEMM reads strided operands in place; the CPU GEMM takes contiguous ones.
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

// An operand for the GEMM of `device`: on a GPU any layout describe_matrix accepts, on the
// CPU a contiguous copy (row-major, ld = columns). Detached either way.
GemmOperand operand_for(const Tensor& t, int64_t batch_dims) {
  if (detail::on_cuda(t)) return gemm_operand(t, batch_dims);
  GemmOperand op{t.contiguous().detach(), {}};
  op.layout.ld = std::max<int64_t>(t.size(-1), 1);
  return op;
}

// The sizes of a product: `batch` matrices of M x K times K x N, or with `shared` one K x N
// matrix for every batch (then all batch * M rows of A form one matrix).
struct GemmShape {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool shared = false;
};

// C = op(A) op(B) on either device; the CPU operands are contiguous row-major (operand_for).
// On the CPU a shared B makes one GEMM over all rows; otherwise one GEMM per batch matrix.
template <class T>
void cpu_product(const GemmShape& s, const Tensor& A, const Tensor& B, Tensor& C) {
  if (s.shared)
    cpu::gemm<T>(false, false, s.batch * s.M, s.N, s.K, T(1), A.data<T>(), s.K, B.data<T>(), s.N, T(0), C.data<T>(),
                 s.N);
  else
    batched_gemm<T>(false, false, s.batch, s.M, s.N, s.K, A.data<T>(), s.M * s.K, B.data<T>(), s.K * s.N, T(0),
                    C.data<T>(), s.M * s.N);
}

void gpu_product([[maybe_unused]] const GemmShape& s, [[maybe_unused]] const GemmOperand& A,
                 [[maybe_unused]] const GemmOperand& B, [[maybe_unused]] bool trans_b, [[maybe_unused]] Tensor& C) {
  SDKD_CUDA_ONLY({
    const gpu::ExecContext ctx = detail::cuda_context(C);
    const bool tb = trans_b ? !B.layout.trans : B.layout.trans;
    if (s.shared)
      gpu::gemm(ctx, A.layout.trans, tb, s.batch * s.M, s.N, s.K, 1.f, A.t.data<float>(), A.layout.ld, 0,
                B.t.data<float>(), B.layout.ld, 0, 0.f, C.data<float>(), s.N, 0, 1);
    else
      gpu::gemm(ctx, A.layout.trans, tb, s.M, s.N, s.K, 1.f, A.t.data<float>(), A.layout.ld,
                A.layout.batch_stride, B.t.data<float>(), B.layout.ld, B.layout.batch_stride, 0.f, C.data<float>(),
                s.N, s.M * s.N, s.batch);
  });
}

// The gradients of C = A B (B shared or batched), on either device:
//   dA = G B^T,   dB = A^T G (summed over the batch when B is shared).
// `b_transposed` (GPU, shared B only): the stored operand is W (N, K) and the product used
// W^T, as linear() does on a GPU; dB is then W's own gradient G^T A, written directly. (On the
// CPU linear() stores a contiguous W^T and passes false.)
struct ProductGrads {
  Tensor dA, dB;
};

ProductGrads product_backward(const GemmShape& s, const GemmOperand& a, const GemmOperand& b,
                              [[maybe_unused]] bool b_transposed,
                              const Tensor& gout, bool need_a, bool need_b) {
  const Tensor g = gout.contiguous();
  ProductGrads out;
  if (!detail::on_cuda(g)) {
    SDKD_DISPATCH(g.dtype(), T, {
      if (need_a) {  // dA = G B^T
        out.dA = make_tensor(a.t.shape(), g.dtype());
        batched_gemm<T>(false, true, s.batch, s.M, s.K, s.N, g.data<T>(), s.M * s.N, b.t.data<T>(),
                        s.shared ? 0 : s.K * s.N, T(0), out.dA.data<T>(), s.M * s.K);
      }
      if (need_b) {  // dB = A^T G
        out.dB = Tensor::zeros(b.t.shape(), g.dtype());
        if (s.shared)
          cpu::gemm<T>(true, false, s.K, s.N, s.batch * s.M, T(1), a.t.data<T>(), s.K, g.data<T>(), s.N, T(0),
                       out.dB.data<T>(), s.N);
        else
          batched_gemm<T>(true, false, s.batch, s.K, s.N, s.M, a.t.data<T>(), s.M * s.K, g.data<T>(), s.M * s.N,
                          T(0), out.dB.data<T>(), s.K * s.N);
      }
    });
    return out;
  }
  SDKD_CUDA_ONLY({
    const gpu::ExecContext ctx = detail::cuda_context(g);
    const MatLayout& la = a.layout;
    const MatLayout& lb = b.layout;
    // op(B) as the product used it; its transpose for dA.
    const bool b_trans_in_product = b_transposed ? !lb.trans : lb.trans;
    if (need_a) {  // dA = G op(B)^T
      out.dA = make_tensor(a.t.shape(), DType::f32, g.device());
      if (s.shared)
        gpu::gemm(ctx, false, !b_trans_in_product, s.batch * s.M, s.K, s.N, 1.f, g.data<float>(), s.N, 0,
                  b.t.data<float>(), lb.ld, 0, 0.f, out.dA.data<float>(), s.K, 0, 1);
      else
        gpu::gemm(ctx, false, !b_trans_in_product, s.M, s.K, s.N, 1.f, g.data<float>(), s.N, s.M * s.N,
                  b.t.data<float>(), lb.ld, lb.batch_stride, 0.f, out.dA.data<float>(), s.K, s.M * s.K, s.batch);
    }
    if (need_b) {  // dB = op(A)^T G, summed over the batch when B is shared
      out.dB = make_tensor(b.t.shape(), DType::f32, g.device());
      if (b_transposed)  // W's gradient G^T op(A), (N, K)
        gpu::gemm(ctx, true, la.trans, s.N, s.K, s.batch * s.M, 1.f, g.data<float>(), s.N, 0,
                  a.t.data<float>(), la.ld, 0, 0.f, out.dB.data<float>(), s.K, 0, 1);
      else if (s.shared)  // one GEMM over all batch * M rows does the batch sum inside the K loop
        gpu::gemm(ctx, !la.trans, false, s.K, s.N, s.batch * s.M, 1.f, a.t.data<float>(), la.ld, 0,
                  g.data<float>(), s.N, 0, 0.f, out.dB.data<float>(), s.N, 0, 1);
      else
        gpu::gemm(ctx, !la.trans, false, s.K, s.N, s.M, 1.f, a.t.data<float>(), la.ld, la.batch_stride,
                  g.data<float>(), s.N, s.M * s.N, 0.f, out.dB.data<float>(), s.N, s.K * s.N, s.batch);
    }
  });
  return out;
}

struct MatmulBackward : Node {
  GemmOperand a, b;
  GemmShape shape;
  std::vector<Tensor> backward(const Tensor& gout) override {
    ProductGrads gr = product_backward(shape, a, b, false, gout, inputs[0].requires_grad(), inputs[1].requires_grad());
    return {gr.dA, gr.dB};
  }
  const char* name() const override { return "MatmulBackward"; }
};

// y = x W^T + bias, one node on every device. x's leading dims are the batch and rows of the
// product exactly as matmul(x, W^T) would see them (batch = all but the last two dims, M the
// second-to-last), so the CPU's GEMM calls, and so its results, are those of that composition.
struct LinearBackward : Node {
  GemmOperand x, w;  // w: W^T contiguous (K, N) on the CPU, W itself (N, K) on a GPU
  GemmShape shape;
  int64_t rows = 0;
  std::vector<Tensor> backward(const Tensor& gout) override {
    const bool need_b = inputs.size() > 2 && inputs[2].defined() && inputs[2].requires_grad();
    const bool on_gpu = detail::on_cuda(gout);
    ProductGrads gr = product_backward(shape, x, w, on_gpu, gout, inputs[0].requires_grad(), inputs[1].requires_grad());
    // On the CPU dB is the gradient of W^T (K, N): W's is its transpose (a view, which the leaf
    // copies, as the composite matmul(x, W^T) delivered it). On a GPU it is W's already.
    Tensor dw = gr.dB.defined() && !on_gpu ? gr.dB.transpose(0, 1) : gr.dB;
    Tensor db;
    if (need_b) db = bias_grad(gout);
    return {gr.dA, dw, db};
  }
  // db = column sums of G: in double on the CPU (as sum_to), in fixed order on a GPU.
  Tensor bias_grad(const Tensor& gout) const {
    if (!detail::on_cuda(gout)) return sum_to(gout, {shape.N});
    const Tensor g = gout.contiguous();
    Tensor db = make_tensor({shape.N}, DType::f32, g.device());
    SDKD_CUDA_ONLY(gpu::column_sum(detail::cuda_context(g), db.data<float>(), g.data<float>(), rows, shape.N));
    return db;
  }
  const char* name() const override { return "LinearBackward"; }
};

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
  GemmShape s;
  s.shared = b.dim() == 2;
  if (!s.shared) {
    SDKD_CHECK(a.dim() == b.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()),
               "matmul: batch dimensions differ, ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
  }
  if (cuda) {
    detail::require_same_device(a, b, "matmul");
    detail::require_f32_on_cuda(a, "matmul");
    detail::require_f32_on_cuda(b, "matmul");
  }
  s.K = a.size(-1);
  s.M = a.size(-2);
  s.N = b.size(-1);
  s.batch = a.numel() / std::max<int64_t>(s.M * s.K, 1);
  Shape out_shape = a.shape();
  out_shape.back() = s.N;
  Tensor out = make_tensor(out_shape, a.dtype(), a.device());
  FlopCounter::add(2 * s.batch * s.M * s.N * s.K);
  // Shared B on a GPU: all batch * M rows of A form one matrix, so one GEMM fills the GPU better.
  GemmOperand A = operand_for(a, s.shared ? 0 : a.dim() - 2), B = operand_for(b, b.dim() - 2);
  if (cuda) gpu_product(s, A, B, false, out);
  else SDKD_DISPATCH(a.dtype(), T, cpu_product<T>(s, A.t, B.t, out));
  if (needs_grad({&a, &b})) {
    auto node = std::make_shared<MatmulBackward>();
    node->inputs = {a, b};
    node->a = std::move(A);
    node->b = std::move(B);
    node->shape = s;
    record(out, node);
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SDKD_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got ", weight.str());
  SDKD_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()),
             " does not end in the weight's in_features ", weight.size(1));
  const int64_t N = weight.size(0), K = weight.size(1);
  if (bias.defined() && !(bias.dim() == 1 && bias.size(0) == N)) {
    // A bias of another broadcastable shape: the composite form.
    Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
    Tensor y = add(matmul(x2, weight.transpose(0, 1)), bias);
    return x.dim() == 1 ? y.squeeze(0) : y;
  }
  const bool cuda = detail::on_cuda(x) || detail::on_cuda(weight);
  detail::require_defined(x, "linear");
  detail::require_same_device(x, weight, "linear");
  detail::require_same_device(x, bias, "linear");
  detail::require_same_dtype(x, weight, "linear");
  if (bias.defined()) detail::require_same_dtype(x, bias, "linear");
  if (cuda) {
    detail::require_f32_on_cuda(x, "linear");
    detail::require_f32_on_cuda(weight, "linear");
  }
  GemmShape s;
  s.shared = true;
  s.N = N;
  s.K = K;
  s.M = x.dim() >= 2 ? x.size(-2) : 1;
  const int64_t rows = x.numel() / std::max<int64_t>(K, 1);
  s.batch = rows / std::max<int64_t>(s.M, 1);
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = make_tensor(out_shape, x.dtype(), x.device());
  FlopCounter::add(2 * rows * N * K);  // as matmul counts it
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  // On a GPU the kernel reads W transposed in place; the CPU GEMM multiplies by a contiguous W^T.
  GemmOperand X = operand_for(x, 0);
  GemmOperand W = cuda ? operand_for(weight, 0) : operand_for(weight.detach().transpose(0, 1), 0);
  if (cuda) {
    gpu_product(s, X, W, true, out);
    SDKD_CUDA_ONLY(if (b.defined()) gpu::add_row_bias(detail::cuda_context(out), out.data<float>(), b.data<float>(), rows, N));
  } else {
    SDKD_DISPATCH(x.dtype(), T, {
      cpu_product<T>(s, X.t, W.t, out);
      if (b.defined()) {  // the broadcast add of the composite form, element for element
        T* o = out.data<T>();
        const T* pb = b.data<T>();
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < N; ++j) o[r * N + j] = o[r * N + j] + pb[j];
      }
    });
  }
  if (needs_grad({&x, &weight, &bias})) {
    auto node = std::make_shared<LinearBackward>();
    node->inputs = {x, weight, bias};
    node->x = std::move(X);
    node->w = std::move(W);
    node->shape = s;
    node->rows = rows;
    record(out, node);
  }
  return out;
}

}  // namespace sdkd
