// GEMM: the engine's matmul on the shapes of the models' Linear layers and convs-as-GEMM.
// CPU: `gemm` is the engine's matmul (OpenBLAS when the build has CBLAS), `gemm_blocked` our
// portable blocked kernel (kernels/cpu/gemm.hpp); both are validated against the naive triple
// loop (double accumulator) and compared with a direct OpenBLAS call (cpu::gemm).
// GPU: `gemm` is our SIMT fp32 kernel against the engine's cuBLAS backend, `gemm_tf32` our
// tensor-core TF32 kernel against cuBLAS with TF32 math; both are validated against the CPU
// matmul of the same inputs.
#include <memory>

#include "bench/kernel_bench/harness.hpp"
#include "bench/kernel_bench/vendor.hpp"
#include "kernels/cpu/gemm.hpp"
#include "sdkd/device.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::bench {

namespace {

// fp32 sums of K products against a double-accumulated reference, relative to the largest
// output: the error grows like sqrt(K) eps (~2e-6 at K = 1024); 1e-4 leaves a wide margin
// while still catching any indexing or tail bug (those give O(1) errors).
constexpr double kTolFp32 = 1e-4;
// TF32 rounds both operands to 10 mantissa bits (2^-11 relative each): products carry ~1e-3
// relative error and random-sign sums keep the total well under 1e-2 of the largest output.
constexpr double kTolTf32 = 1e-2;

// Sets the process-wide GEMM backend for one call and restores it.
struct BackendScope {
  GemmBackend saved;
  explicit BackendScope(GemmBackend b) : saved(gemm_backend()) { set_gemm_backend(b); }
  ~BackendScope() { set_gemm_backend(saved); }
};

struct State {
  Tensor a, b, c;
};

Prepared prepare(const shapes::Gemm& s, Device dev, bool variant) {
  // variant: gemm_blocked on the CPU, gemm_tf32 on the GPU.
  const Tensor a = host_randn({s.M, s.K}, 1), b = host_randn({s.K, s.N}, 2);
  auto st = std::make_shared<State>();
  st->a = a.to(dev);
  st->b = b.to(dev);
  st->c = Tensor::zeros({s.M, s.N}, DType::f32, dev);
  Prepared p;
  p.flops = 2.0 * s.M * s.N * s.K;
  p.bound = dev.is_cuda() && variant ? Bound::tf32 : Bound::fp32;
  if (dev.is_cpu()) {
    p.ours.run = variant ? std::function<void()>([st, s] {
      cpu::gemm_blocked<float>(false, false, s.M, s.N, s.K, 1.0f, st->a.data<float>(), s.K, st->b.data<float>(), s.N,
                               0.0f, st->c.data<float>(), s.N);
    })
                         : std::function<void()>([st] { st->c = matmul(st->a, st->b); });
    p.reference = "cpu::gemm_naive (triple loop)";
    p.validate = [st, s, a, b, run = p.ours.run] {
      run();
      Tensor ref = Tensor::empty({s.M, s.N});
      cpu::gemm_naive<float>(false, false, s.M, s.N, s.K, 1.0f, a.data<float>(), s.K, b.data<float>(), s.N, 0.0f,
                             ref.data<float>(), s.N);
      return compare(st->c, ref, kTolFp32, "C");
    };
#ifdef SDKD_WITH_CBLAS
    p.yardstick_name = "OpenBLAS";
    p.yardstick.run = [st, s] {
      cpu::gemm<float>(false, false, s.M, s.N, s.K, 1.0f, st->a.data<float>(), s.K, st->b.data<float>(), s.N, 0.0f,
                       st->c.data<float>(), s.N);
    };
#else
    p.yardstick_note = "OpenBLAS not built";
#endif
    return p;
  }
  const GemmBackend mine = variant ? GemmBackend::tf32 : GemmBackend::simt;
  p.ours.run = [st, mine] {
    BackendScope scope(mine);
    st->c = matmul(st->a, st->b);
  };
  p.reference = "CPU twin";
  p.validate = [st, a, b, variant, run = p.ours.run] {
    run();
    return compare(st->c, matmul(a, b), variant ? kTolTf32 : kTolFp32, "C");
  };
  if (!variant) {
    p.yardstick_name = "cuBLAS";
    p.yardstick.run = [st] {
      BackendScope scope(GemmBackend::cublas);
      st->c = matmul(st->a, st->b);
    };
  } else if (vendor::cublas_missing().empty()) {
    p.yardstick_name = "cuBLAS TF32";
    p.yardstick.run = [st, s] {
      vendor::cublas_tf32_gemm(s.M, s.N, s.K, st->a.data<float>(), st->b.data<float>(), st->c.data<float>());
    };
  } else {
    p.yardstick_note = vendor::cublas_missing();
  }
  return p;
}

}  // namespace

// gemm stands in for matmul's forward; its backward gets the generic gemm_fwdbwd row.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Gemm& s) {
  add_for_devices(out, o, "gemm", e, [&s](Device d) { return prepare(s, d, false); });
  // The second variant differs per device: our blocked kernel on the CPU, TF32 on the GPU.
  BuildOptions cpu_only = o, gpu_only = o;
  cpu_only.cuda = false;
  gpu_only.cpu = false;
  add_for_devices(out, cpu_only, "gemm_blocked", e, [&s](Device d) { return prepare(s, d, true); });
  add_for_devices(out, gpu_only, "gemm_tf32", e, [&s](Device d) { return prepare(s, d, true); });
  return {true, false};
}

}  // namespace sdkd::bench
