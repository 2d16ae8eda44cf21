// rfft2 / irfft2 through cuFFT against the CPU twin (kissfft): forward values and the gradients
// of both ops, on even and odd sizes, batch 1, a strided input and a misaligned view.
//
// Tolerance: both sides are float32 FFTs with O(eps log(HW)) error relative to the rms of the
// data; inputs are standard normal, so spectra and maps are O(1) per element (ortho scaling).
// atol 3e-5 is ~250 float32 ulps of 1, a wide margin for 64 x 64 (log2 = 12 stages) while a
// wrong bin, a missing weight (factor 2) or a wrong scale (factor sqrt(HW)) is off by O(1).
#include <cstdint>

#include "cuda_test.hpp"
#include "sdkd/fft.hpp"

using namespace sdkd;
using namespace sdkd::test;

namespace {

constexpr double kRtol = 1e-4, kAtol = 3e-5;

Shape spectrum_shape(const Shape& real) {
  Shape s(real.begin(), real.end() - 1);
  s.push_back(real.back() / 2 + 1);
  s.push_back(2);
  return s;
}

const Shape kShapes[] = {{1, 1, 8, 8}, {2, 3, 16, 16}, {4, 5, 64, 64}, {3, 7, 9, 15},
                         {2, 2, 9, 10}, {1, 3, 8, 7},  {5, 6, 4},      {2, 1, 12}};

}  // namespace

TEST_CASE("rfft2 on CUDA matches the CPU, values and gradient", "[cuda][fft]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 100;
  for (const Shape& shape : kShapes) {
    const std::string what = "rfft2 " + shape_str(shape);
    Tensor xc = cpu_randn(shape, ++seed);
    Tensor xg = xc.to(kCuda);
    xc.set_requires_grad(true);
    xg.set_requires_grad(true);
    const Tensor Xc = rfft2(xc), Xg = rfft2(xg);
    CHECK_CLOSE(Xg, Xc, kRtol, kAtol, what + " forward");
    // An arbitrary (non-Hermitian) upstream gradient exercises the adjoint's column weights
    // and the Hermitian projection of the self-conjugate columns.
    const Tensor R = cpu_randn(spectrum_shape(shape), ++seed);
    Xc.backward(R);
    Xg.backward(R.to(kCuda));
    CHECK_CLOSE(xg.grad(), xc.grad(), kRtol, kAtol, what + " gradient");
  }
}

TEST_CASE("irfft2 on CUDA matches the CPU on arbitrary half spectra, values and gradient", "[cuda][fft]") {
  SDKD_CUDA_OR_SKIP();
  uint64_t seed = 200;
  for (const Shape& shape : kShapes) {
    const std::string what = "irfft2 " + shape_str(shape);
    // Not Hermitian: the imaginary parts of the DC/Nyquist columns must be ignored as on the CPU.
    Tensor Xc = cpu_randn(spectrum_shape(shape), ++seed);
    Tensor Xg = Xc.to(kCuda);
    Xc.set_requires_grad(true);
    Xg.set_requires_grad(true);
    const Tensor xc = irfft2(Xc, shape.back()), xg = irfft2(Xg, shape.back());
    CHECK_CLOSE(xg, xc, kRtol, kAtol, what + " forward");
    const Tensor r = cpu_randn(shape, ++seed);
    xc.backward(r);
    xg.backward(r.to(kCuda));
    CHECK_CLOSE(Xg.grad(), Xc.grad(), kRtol, kAtol, what + " gradient");
  }
}

TEST_CASE("rfft2 / irfft2 on CUDA take strided and misaligned views", "[cuda][fft]") {
  SDKD_CUDA_OR_SKIP();
  const Tensor base = cpu_randn({3, 7, 9, 15}, 301);
  const Tensor tc = base.transpose(-1, -2), tg = base.to(kCuda).transpose(-1, -2);
  CHECK_CLOSE(rfft2(tg), rfft2(tc), kRtol, kAtol, "rfft2 of a transposed view");
  // Contiguous views that start one float into their buffer (4-byte aligned only).
  const Tensor flat = cpu_randn({1 + 2 * 5 * 9 * 14}, 302), flat_g = flat.to(kCuda);
  const Shape real{2, 5, 9, 14}, spec{2, 5, 9, 4, 2};  // spec: W = 7 half spectra over the same buffer
  const auto view = [](const Tensor& t, const Shape& s) { return t.slice(0, 1, 1 + shape_numel(s)).reshape(s); };
  CHECK_CLOSE(rfft2(view(flat_g, real)), rfft2(view(flat, real)), kRtol, kAtol, "rfft2 of an offset view");
  CHECK_CLOSE(irfft2(view(flat_g, spec), 7), irfft2(view(flat, spec), 7), kRtol, kAtol, "irfft2 of an offset view");
}

TEST_CASE("irfft2 inverts rfft2 on CUDA", "[cuda][fft]") {
  SDKD_CUDA_OR_SKIP();
  // Independent of the CPU twin: the round trip must return the input to float32 round-off.
  for (const Shape& shape : {Shape{2, 3, 16, 16}, Shape{3, 7, 9, 15}, Shape{1, 1, 10, 7}}) {
    const Tensor x = cpu_randn(shape, 400 + uint64_t(shape.back()));
    const Tensor back = irfft2(rfft2(x.to(kCuda)), shape.back());
    CHECK_CLOSE(back, x, kRtol, kAtol, "round trip " + shape_str(shape));
  }
}
