// The band-split spectral KD loss on CUDA (cuFFT + the fused band kernel) against the CPU
// twin: loss, per-band losses, weights and the student's gradient, for 1..4 bands, alpha,
// explicit band weights and the adaptive weights; and Parseval against the GPU's plain MSE.
//
// Tolerances: the band sums are double accumulations of float32 spectra that differ between
// cuFFT and kissfft by ~1e-7 of their rms, so the loss agrees to ~1e-6 relative: rtol 2e-5.
// A band's error scales with the whole map's energy, not the band's (a band of a few bins may
// hold little), hence the band losses also get atol 1e-6 of the total. The gradient is irfft2
// of the float32 spectrum 2 c_b (S - T): atol 2e-5 of its largest magnitude plus rtol 1e-4.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda_test.hpp"
#include "sdkd/spectral_loss.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using namespace sdkd::test;
using sdkd::SpectralKDOptions;
using sdkd::SpectralKDResult;
using sdkd::spectral_kd_loss;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

void check_vector(const std::vector<double>& gpu, const std::vector<double>& cpu, double rtol, double atol,
                  const std::string& what) {
  INFO(what);
  REQUIRE(gpu.size() == cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    INFO("entry " << i << ": gpu " << gpu[i] << " cpu " << cpu[i]);
    CHECK(std::fabs(gpu[i] - cpu[i]) <= atol + rtol * std::fabs(cpu[i]));
  }
}

// Runs the loss on both devices (student with gradient) and compares everything it reports.
void compare(const Shape& shape, const SpectralKDOptions& o, uint64_t seed, const std::string& what) {
  const Tensor s = cpu_randn(shape, seed), t = cpu_randn(shape, seed + 1, 0.7);
  Tensor sc = s.clone().detach(), sg = s.to(kCuda);
  sc.set_requires_grad(true);
  sg.set_requires_grad(true);
  const SpectralKDResult rc = spectral_kd_loss(sc, t, o);
  const SpectralKDResult rg = spectral_kd_loss(sg, t.to(kCuda), o);
  CHECK(rg.loss.device() == kCuda);
  const double lc = rc.loss.item(), lg = rg.loss.item();
  INFO(what << ": loss gpu " << lg << " cpu " << lc);
  CHECK(std::fabs(lg - lc) <= 2e-5 * std::fabs(lc) + 1e-12);
  double total = 0;
  for (double v : rc.band_losses) total += v;
  check_vector(rg.band_losses, rc.band_losses, 2e-5, 1e-6 * total, what + " band losses");
  check_vector(rg.weights, rc.weights, 2e-5, 1e-12, what + " weights");
  rc.loss.backward();
  rg.loss.backward();
  CHECK_CLOSE(sg.grad(), sc.grad(), 1e-4, 2e-5 * max_abs(sc.grad()), what + " student gradient");
}

const std::vector<std::vector<double>> kCutoffs = {{}, {0.25}, {0.2, 0.5}, {0.15, 0.35, 0.7}};
const Shape kShapes[] = {{2, 3, 16, 16}, {1, 1, 9, 15}, {4, 5, 32, 32}, {3, 2, 12, 7}};

}  // namespace

TEST_CASE("spectral KD loss on CUDA matches the CPU for 1..4 bands, alpha and band weights", "[cuda][spectral_kd]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 10;
  for (const Shape& shape : kShapes)
    for (const auto& cutoffs : kCutoffs) {
      const std::string where = shape_str(shape) + " with " + std::to_string(cutoffs.size() + 1) + " bands";
      SpectralKDOptions o;
      o.cutoffs = cutoffs;
      compare(shape, o, seed += 2, where + ", alpha 1");
      o.alpha = 0.3;
      compare(shape, o, seed += 2, where + ", alpha 0.3");
      o.band_weights.clear();
      for (size_t b = 0; b <= cutoffs.size(); ++b) o.band_weights.push_back(0.5 + double(b));
      compare(shape, o, seed += 2, where + ", band weights");
    }
}

TEST_CASE("adaptive spectral KD weights on CUDA match the CPU", "[cuda][spectral_kd]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 500;
  for (const Shape& shape : kShapes)
    for (const auto& cutoffs : kCutoffs)
      for (double gamma : {0.5, 1.0}) {
        SpectralKDOptions o;
        o.cutoffs = cutoffs;
        o.alpha = 2.0;
        o.adaptive = true;
        o.gamma = gamma;
        compare(shape, o, seed += 2,
                shape_str(shape) + " adaptive, " + std::to_string(cutoffs.size() + 1) + " bands, gamma " +
                    std::to_string(gamma));
      }
}

TEST_CASE("Parseval on CUDA: unit band weights give the GPU's plain MSE and its gradient", "[cuda][spectral_kd]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 900;
  for (const Shape& shape : {Shape{2, 3, 16, 16}, Shape{1, 1, 9, 15}, Shape{3, 2, 12, 7}})
    for (const auto& cutoffs : kCutoffs) {
      // One band over every frequency (cutoffs {}), or several with every weight 1: the loss is
      // sum_k w_k |S_k - T_k|^2 / numel = mean (s - t)^2 by Parseval.
      const std::string what = shape_str(shape) + ", " + std::to_string(cutoffs.size() + 1) + " bands";
      const Tensor s = cpu_randn(shape, seed += 2).to(kCuda), t = cpu_randn(shape, seed + 1).to(kCuda);
      Tensor a = s.clone().detach(), b = s.clone().detach();
      a.set_requires_grad(true);
      b.set_requires_grad(true);
      SpectralKDOptions o;
      o.cutoffs = cutoffs;
      const SpectralKDResult r = spectral_kd_loss(a, t, o);
      const Tensor mse = mse_loss(b, t);
      const double ls = r.loss.item(), lm = mse.item();
      INFO(what << ": spectral " << ls << " mse " << lm);
      CHECK(std::fabs(ls - lm) <= 2e-5 * lm);
      double band_total = 0;
      for (double v : r.band_losses) band_total += v;
      CHECK(std::fabs(band_total - lm) <= 2e-5 * lm);
      r.loss.backward();
      mse.backward();
      // d mse / ds = 2 (s - t) / numel; the spectral path reaches it through two FFTs.
      CHECK_CLOSE(a.grad(), b.grad().to(kCpu), 1e-4, 2e-5 * max_abs(b.grad()), what + " gradient");
    }
}
