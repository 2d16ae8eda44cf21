// Matrix products through the CPU GEMM (CBLAS or the blocked fallback).
#include "dispatch.hpp"
#include "kernels/cpu/gemm.hpp"
#include "sdkd/autograd.hpp"
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

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::require_cpu(a, "matmul");
  detail::require_cpu(b, "matmul");
  detail::require_same_dtype(a, b, "matmul");
  SDKD_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: needs operands of at least 2 dims, got ", a.str(), " and ", b.str());
  SDKD_CHECK(a.size(-1) == b.size(-2), "matmul: inner dimensions differ, ", shape_str(a.shape()), " @ ",
             shape_str(b.shape()));
  const bool shared = b.dim() == 2;
  if (!shared) {
    SDKD_CHECK(a.dim() == b.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()),
               "matmul: batch dimensions differ, ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
  }
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
  Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
  Tensor y = matmul(x2, weight.transpose(0, 1));
  if (bias.defined()) y = add(y, bias);
  return x.dim() == 1 ? y.squeeze(0) : y;
}

}  // namespace sdkd
