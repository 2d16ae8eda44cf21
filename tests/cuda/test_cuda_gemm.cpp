// The GEMM family on the GPU (kernels/cuda/gemm.cu) through matmul and linear, for each
// backend (simt, tf32, cublas), against the CPU twin: forward values and the gradients of
// every input, on odd sizes, size-1 dims, batches (own and shared B), transposed and sliced
// (non-contiguous) operands, and tile-filling shapes that take the 128 x 128 kernels.
//
// Tolerance (per compared tensor, written out in gemm_atol): every output element is a dot
// product of length `inner` (K for the forward, N for dA, M or batch*M for dB, rows for
// dW and the bias gradient). Both sides round: fp32 accumulation with random-sign rounding
// errors grows like u * sqrt(inner) * |a||b| per term (u = 2^-24 = 6e-8; partial sums of
// random terms grow like sqrt(k)), so
//     |gpu - cpu| <= eps * sqrt(inner) * max|x| * max|y|   (+ rtol 1e-5 * |cpu|)
// with eps = 1e-5 for simt and cublas (over 100x the expected fp32 difference, while an
// indexing bug or a TF32 slip gives errors of order 1e-3 * sqrt(inner) and up), and
// eps = 2e-3 for tf32: TF32 keeps 10 mantissa bits, so each input is off by up to 2^-11
// relative and each product by ~2^-10 = 9.8e-4; with random signs the sum is off by about
// 1e-3 * sqrt(inner) * |a||b|, and max|x| * max|y| (~10 for normal data) adds the margin.
// The worst element's share of its bound is printed (CHECK_CLOSE).
#include <cmath>
#include <functional>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"

#ifdef SDKD_WITH_CUDA
#include "kernels/cpu/gemm.hpp"
#include "kernels/cuda/gemm.hpp"
#endif

using namespace sdkd;
using namespace sdkd::test;

namespace {

// Sets the GEMM backend for one scope and restores the previous one, also when a REQUIRE
// leaves the case early.
class BackendScope {
 public:
  explicit BackendScope(GemmBackend b) : prev_(gemm_backend()) { set_gemm_backend(b); }
  ~BackendScope() { set_gemm_backend(prev_); }
  BackendScope(const BackendScope&) = delete;
  BackendScope& operator=(const BackendScope&) = delete;

 private:
  GemmBackend prev_;
};

struct Backend {
  GemmBackend kind;
  const char* name;
  double eps;  // see the file comment
};
const Backend kBackends[] = {{GemmBackend::simt, "simt", 1e-5}, {GemmBackend::tf32, "tf32", 2e-3},
                             {GemmBackend::cublas, "cublas", 1e-5}};
constexpr double kRtol = 1e-5;

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

// The bound on |gpu - cpu| for a sum of `inner` products x_k * y_k (file comment).
double gemm_atol(double eps, int64_t inner, const Tensor& x, const Tensor& y) {
  const double a = eps * std::sqrt(double(std::max<int64_t>(inner, 1))) * max_abs(x) * max_abs(y);
  return std::max(a, 1e-30);
}

// A leaf (requires grad, no history) with the data and strides of the view t.
Tensor leaf(const Tensor& t) {
  Tensor l = t.detach();
  l.set_requires_grad(true);
  return l;
}

// One operand in its CPU and GPU forms: the same values, the same view of a base tensor.
struct Pair {
  Tensor cpu, gpu;
};
using ViewFn = std::function<Tensor(const Tensor&)>;
Pair twin(const Shape& base_shape, uint64_t seed, const ViewFn& view = nullptr) {
  const Tensor base = cpu_randn(base_shape, seed);
  const Tensor base_gpu = base.to(kCuda);
  if (!view) return {leaf(base), leaf(base_gpu)};
  return {leaf(view(base)), leaf(view(base_gpu))};
}

// matmul(a, b) on both devices: forward, then backward with the same random output
// gradient, comparing dA and dB. a: (..., M, K); b: (..., K, N) or a shared (K, N).
void compare_matmul(const Pair& a, const Pair& b, const Backend& be, uint64_t seed, const std::string& what) {
  INFO(what << " [" << be.name << "] a " << a.cpu.str() << ", b " << b.cpu.str());
  REQUIRE(a.gpu.device() == kCuda);
  const int64_t K = a.cpu.size(-1), M = a.cpu.size(-2), N = b.cpu.size(-1);
  const int64_t batch = a.cpu.numel() / std::max<int64_t>(M * K, 1);
  const bool shared = b.cpu.dim() == 2;

  const Tensor yc = matmul(a.cpu, b.cpu);
  Tensor yg;
  {
    FlopCounter fc;
    yg = matmul(a.gpu, b.gpu);
    CHECK(fc.flops() == 2 * batch * M * N * K);  // counted as on the CPU
  }
  CHECK_CLOSE(yg, yc, kRtol, gemm_atol(be.eps, K, a.cpu, b.cpu), what + ": forward");

  const Tensor g = cpu_randn(yc.shape(), seed + 1000);
  yc.backward(g);
  yg.backward(g.to(kCuda));
  CHECK_CLOSE(a.gpu.grad(), a.cpu.grad(), kRtol, gemm_atol(be.eps, N, g, b.cpu), what + ": dA = G B^T");
  const int64_t inner_b = shared ? batch * M : M;  // shared B sums over the batch too
  CHECK_CLOSE(b.gpu.grad(), b.cpu.grad(), kRtol, gemm_atol(be.eps, inner_b, a.cpu, g), what + ": dB = A^T G");
}

// linear(x, w, bias) on both devices, forward and all gradients.
void compare_linear(const Pair& x, const Pair& w, const Pair* bias, const Backend& be, uint64_t seed,
                    const std::string& what) {
  INFO(what << " [" << be.name << "] x " << x.cpu.str() << ", w " << w.cpu.str() << (bias ? ", with bias" : ""));
  const int64_t N = w.cpu.size(0), K = w.cpu.size(1);
  const int64_t rows = x.cpu.numel() / std::max<int64_t>(K, 1);

  const Tensor yc = linear(x.cpu, w.cpu, bias ? bias->cpu : Tensor());
  Tensor yg;
  {
    FlopCounter fc;
    yg = linear(x.gpu, w.gpu, bias ? bias->gpu : Tensor());
    CHECK(fc.flops() == 2 * rows * N * K);
  }
  // The bias adds one more rounding of a value of size max|bias|: covered by the bound.
  CHECK_CLOSE(yg, yc, kRtol, gemm_atol(be.eps, K, x.cpu, w.cpu) + (bias ? 1e-6 * max_abs(bias->cpu) : 0.0),
              what + ": forward");

  const Tensor g = cpu_randn(yc.shape(), seed + 1000);
  yc.backward(g);
  yg.backward(g.to(kCuda));
  CHECK_CLOSE(x.gpu.grad(), x.cpu.grad(), kRtol, gemm_atol(be.eps, N, g, w.cpu), what + ": dx = G W");
  CHECK_CLOSE(w.gpu.grad(), w.cpu.grad(), kRtol, gemm_atol(be.eps, rows, g, x.cpu), what + ": dW = G^T x");
  if (bias) {
    // A plain fp32 column sum on every backend (no TF32 rounding): the fp32 form of the bound.
    const Tensor ones = Tensor::ones({1}, DType::f32);
    CHECK_CLOSE(bias->gpu.grad(), bias->cpu.grad(), kRtol, gemm_atol(1e-5, rows, g, ones), what + ": dbias");
  }
}

struct MNK {
  int64_t M, N, K;
};
// Size-1 dims, odd sizes, sizes just past a tile edge (33, 65, 129, 257), skinny shapes.
const MNK kShapes[] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {129, 3, 257}, {1, 70, 9}, {65, 1, 33}, {2, 129, 1}};

}  // namespace

TEST_CASE("matmul on the GPU matches the CPU for every GEMM backend: 2-D, odd sizes", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  for (const Backend& be : kBackends) {
    BackendScope scope(be.kind);
    uint64_t seed = 1;
    for (const MNK& s : kShapes) {
      const Pair a = twin({s.M, s.K}, seed++), b = twin({s.K, s.N}, seed++);
      compare_matmul(a, b, be, seed++, "2-D " + std::to_string(s.M) + "x" + std::to_string(s.N) + "x" +
                                           std::to_string(s.K));
    }
  }
}

TEST_CASE("matmul on the GPU reads transposed and sliced operands in place", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  for (const Backend& be : kBackends) {
    BackendScope scope(be.kind);
    uint64_t seed = 100;
    for (const MNK& s : kShapes) {
      const std::string dims = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K);
      const ViewFn t01 = [](const Tensor& t) { return t.transpose(0, 1); };
      // a^T and b^T views: column-major operands (the trans flags of the GEMM).
      const Pair at = twin({s.K, s.M}, seed++, t01), bt = twin({s.N, s.K}, seed++, t01);
      const Pair a = twin({s.M, s.K}, seed++), b = twin({s.K, s.N}, seed++);
      compare_matmul(at, b, be, seed++, "A transposed " + dims);
      compare_matmul(a, bt, be, seed++, "B transposed " + dims);
      const Pair at2 = twin({s.K, s.M}, seed++, t01), bt2 = twin({s.N, s.K}, seed++, t01);
      compare_matmul(at2, bt2, be, seed++, "both transposed " + dims);
      // Column slices: row-major with a leading dimension wider than the row, and an offset.
      const int64_t K = s.K, N = s.N;
      const Pair as = twin({s.M, s.K + 5}, seed++, [K](const Tensor& t) { return t.slice(1, 2, 2 + K); });
      const Pair bs = twin({s.K, s.N + 3}, seed++, [N](const Tensor& t) { return t.slice(1, 1, 1 + N); });
      compare_matmul(as, bs, be, seed++, "sliced " + dims);
    }
  }
}

TEST_CASE("batched matmul on the GPU matches the CPU, own and shared B", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  for (const Backend& be : kBackends) {
    BackendScope scope(be.kind);
    uint64_t seed = 300;
    for (const MNK& s : kShapes) {
      const std::string dims = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K);
      for (int64_t batch : {1, 3}) {
        const Pair a = twin({batch, s.M, s.K}, seed++), b = twin({batch, s.K, s.N}, seed++);
        compare_matmul(a, b, be, seed++, "batched " + std::to_string(batch) + " x " + dims);
        const Pair a2 = twin({batch, s.M, s.K}, seed++), w = twin({s.K, s.N}, seed++);
        compare_matmul(a2, w, be, seed++, "shared B, batch " + std::to_string(batch) + " x " + dims);
      }
      // Two batch dims, and B transposed inside the batch (trans flag with a batch stride).
      const Pair a4 = twin({2, 3, s.M, s.K}, seed++), w4 = twin({s.K, s.N}, seed++);
      compare_matmul(a4, w4, be, seed++, "shared B, batch 2x3 x " + dims);
      const Pair a3 = twin({2, s.M, s.K}, seed++);
      const Pair b3 = twin({2, s.N, s.K}, seed++, [](const Tensor& t) { return t.transpose(1, 2); });
      compare_matmul(a3, b3, be, seed++, "batched, B^T views " + dims);
    }
    // A batch whose dim is not outermost in memory: batch stride K, row stride batch*K
    // (read in place when B is per-batch; made contiguous first when B is shared).
    const ViewFn p102 = [](const Tensor& t) { return t.permute({1, 0, 2}); };
    const Pair ap = twin({9, 4, 6}, seed++, p102), bp = twin({4, 6, 5}, seed++);
    compare_matmul(ap, bp, be, seed++, "permuted batch");
    const Pair ap2 = twin({9, 4, 6}, seed++, p102), wp = twin({6, 5}, seed++);
    compare_matmul(ap2, wp, be, seed++, "permuted batch, shared B");
  }
}

TEST_CASE("large matmuls on the GPU take the 128x128 tiles and still match the CPU", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  // 16 x (3 x 3) = 144 output tiles of 128 x 128 and a shared-B GEMM of 33 x 5 = 165 tiles:
  // at least one block per SM on an A100 (108), H100 or H200 (132), so the big-tile kernels
  // run; K = 75 spans several double-buffered k-tiles with a partial last one.
  for (const Backend& be : kBackends) {
    BackendScope scope(be.kind);
    const Pair a = twin({16, 257, 75}, 501), b = twin({16, 75, 260}, 502);
    compare_matmul(a, b, be, 503, "batched 16 x 257x260x75");
    const Pair a2 = twin({16, 257, 75}, 504), w = twin({75, 520}, 505);
    compare_matmul(a2, w, be, 506, "shared B 16 x 257x520x75");
    const Pair at = twin({16, 75, 257}, 507, [](const Tensor& t) { return t.transpose(1, 2); });
    const Pair bt = twin({16, 260, 75}, 508, [](const Tensor& t) { return t.transpose(1, 2); });
    compare_matmul(at, bt, be, 509, "batched 16 x 257x260x75, both transposed");
  }
}

TEST_CASE("linear on the GPU matches the CPU: forward, dx, dW and dbias", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  for (const Backend& be : kBackends) {
    BackendScope scope(be.kind);
    uint64_t seed = 700;
    for (const MNK& s : kShapes) {  // rows = M, out = N, in = K
      const std::string dims = std::to_string(s.M) + " rows, " + std::to_string(s.K) + " -> " + std::to_string(s.N);
      const Pair x = twin({s.M, s.K}, seed++), w = twin({s.N, s.K}, seed++), bias = twin({s.N}, seed++);
      compare_linear(x, w, &bias, be, seed++, "linear " + dims);
      const Pair x2 = twin({s.M, s.K}, seed++), w2 = twin({s.N, s.K}, seed++);
      compare_linear(x2, w2, nullptr, be, seed++, "linear without bias " + dims);
      // Weight stored as (in, out) and viewed transposed; x transposed (column-major).
      const ViewFn t01 = [](const Tensor& t) { return t.transpose(0, 1); };
      const Pair xt = twin({s.K, s.M}, seed++, t01), wt = twin({s.K, s.N}, seed++, t01);
      const Pair bias2 = twin({s.N}, seed++);
      compare_linear(xt, wt, &bias2, be, seed++, "linear, x and W transposed " + dims);
    }
    // Leading dims as rows, a single vector, and enough rows for the two-pass bias gradient.
    const Pair x3 = twin({2, 5, 7}, seed++), w3 = twin({4, 7}, seed++), b3 = twin({4}, seed++);
    compare_linear(x3, w3, &b3, be, seed++, "linear on (2, 5, 7)");
    const Pair x1 = twin({9}, seed++), w1 = twin({3, 9}, seed++), b1 = twin({3}, seed++);
    compare_linear(x1, w1, &b1, be, seed++, "linear on a vector");
    const Pair xb = twin({16, 257, 75}, seed++), wb = twin({130, 75}, seed++), bb = twin({130}, seed++);
    compare_linear(xb, wb, &bb, be, seed++, "linear on (16, 257, 75) -> 130");
  }
}

TEST_CASE("GPU GEMM is deterministic: the same product twice gives the same bits", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  // No kernel in gemm.cu uses atomics or split-K, so repeated runs must agree bitwise.
  const Tensor a = cpu_randn({4, 129, 300}, 901).to(kCuda), b = cpu_randn({4, 300, 70}, 902).to(kCuda);
  for (const Backend& be : kBackends) {
    INFO("backend " << be.name);
    BackendScope scope(be.kind);
    const std::vector<float> first = matmul(a, b).to_float_vector();
    REQUIRE(matmul(a, b).to_float_vector() == first);
  }
}

#ifdef SDKD_WITH_CUDA
TEST_CASE("gpu::gemm honours alpha, beta and K = 0 on every backend", "[cuda][gemm]") {
  SDKD_CUDA_OR_SKIP();
  // C = alpha op(A) op(B) + beta C, against cpu::gemm on the same strided storage (lda, ldb,
  // ldc wider than the matrices). beta = 0 must ignore NaN already in C; K = 0 gives beta C.
  const int64_t M = 37, N = 21, K = 19, lda = K + 3, ldb = N + 2, ldc = N + 4;
  const Tensor A = cpu_randn({M, lda}, 11), B = cpu_randn({K, ldb}, 12), C0 = cpu_randn({M, ldc}, 13);
  for (const Backend& be : kBackends) {
    INFO("backend " << be.name);
    for (float beta : {0.f, 0.5f}) {
      Tensor Cc = C0.clone();
      if (beta == 0.f) Cc.fill_(std::nanf(""));
      Tensor Cg = Cc.to(kCuda);
      const Tensor Ag = A.to(kCuda), Bg = B.to(kCuda);
      cpu::gemm<float>(false, false, M, N, K, 1.5f, A.data<float>(), lda, B.data<float>(), ldb, beta, Cc.data<float>(),
                       ldc);
      gpu::gemm(gpu::make_context(0, be.kind, false), false, false, M, N, K, 1.5f, Ag.data<float>(), lda, 0, Bg.data<float>(), ldb, 0, beta,
                Cg.data<float>(), ldc, 0, 1);
      // Only the M x N window is written; the padding columns must keep their values.
      const double atol = 1.5 * gemm_atol(be.eps, K, A, B) + 1e-6 * max_abs(C0);
      CHECK_CLOSE(Cg.slice(1, 0, N), Cc.slice(1, 0, N).contiguous(), kRtol, atol, "alpha/beta window");
      const Tensor pad_g = Cg.slice(1, N, ldc).contiguous().to(kCpu), pad_c = Cc.slice(1, N, ldc).contiguous();
      const std::vector<float> pg = pad_g.to_float_vector(), pc = pad_c.to_float_vector();
      for (size_t i = 0; i < pg.size(); ++i) REQUIRE(((std::isnan(pg[i]) && std::isnan(pc[i])) || pg[i] == pc[i]));
    }
    // K = 0: C = beta * C exactly.
    Tensor Cg = C0.to(kCuda);
    gpu::gemm(gpu::make_context(0, be.kind, false), false, false, M, N, 0, 1.f, A.to(kCuda).data<float>(), lda, 0, B.to(kCuda).data<float>(), ldb,
              0, 2.f, Cg.data<float>(), ldc, 0, 1);
    const std::vector<float> got = Cg.to_float_vector(), c0 = C0.to_float_vector();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < ldc; ++j) REQUIRE(got[size_t(i * ldc + j)] == (j < N ? 2.f : 1.f) * c0[size_t(i * ldc + j)]);
  }
}
#endif
