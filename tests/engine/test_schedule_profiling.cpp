#include <catch2/catch.hpp>
#include <cmath>

#include "sdkd/ops.hpp"
#include "sdkd/profiling.hpp"
#include "sdkd/schedule.hpp"

using namespace sdkd;
using optim::LrSchedule;

TEST_CASE("cosine schedule warms up linearly and anneals to the floor", "[schedule]") {
  LrSchedule s;
  s.kind = LrSchedule::Kind::cosine;
  s.base_lr = 1.0;
  s.total_steps = 110;
  s.warmup_steps = 10;
  s.min_lr = 0.1;
  CHECK(s.lr_at(0) == Approx(0.1));
  CHECK(s.lr_at(9) == Approx(1.0));
  CHECK(s.lr_at(10) == Approx(1.0));
  CHECK(s.lr_at(60) == Approx(0.1 + 0.9 * 0.5));  // half way: cos(pi/2) = 0
  CHECK(s.lr_at(110) == Approx(0.1));
}

TEST_CASE("onecycle follows PyTorch's OneCycleLR formula", "[schedule]") {
  LrSchedule s;
  s.kind = LrSchedule::Kind::onecycle;
  s.base_lr = 0.1;
  s.total_steps = 100;
  // Values of torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100) written out by
  // its definition: initial 0.1/25, peak at step 29, final 0.1/25/1e4 at step 99.
  const double initial = 0.004, fin = 4e-7;
  CHECK(s.lr_at(0) == Approx(initial));
  CHECK(s.lr_at(29) == Approx(0.1));
  const double t = 14.0 / 29.0;
  CHECK(s.lr_at(14) == Approx(0.1 + (initial - 0.1) * 0.5 * (1 + std::cos(M_PI * t))));
  CHECK(s.lr_at(99) == Approx(fin));
  CHECK(s.lr_at(64) == Approx(fin + (0.1 - fin) * 0.5 * (1 + std::cos(M_PI * 35.0 / 70.0))));
  CHECK_THROWS_WITH(LrSchedule::parse_kind("linear"), Catch::Contains("expected constant, cosine or onecycle"));
}

TEST_CASE("FLOP counter counts conv, conv-transpose and matmul multiply-adds", "[profiling]") {
  Generator g(1);
  const Tensor x = Tensor::randn({2, 3, 8, 8}, g), w = Tensor::randn({4, 3, 3, 3}, g);
  const Tensor a = Tensor::randn({5, 6}, g), b = Tensor::randn({6, 7}, g);
  const Tensor wt = Tensor::randn({4, 2, 4, 4}, g);
  FlopCounter outer;
  {
    FlopCounter inner;
    conv2d(x, w, Tensor(), Conv2dOptions::make(1, 1));  // 2*3*3*3 per output, 2*4*8*8 outputs
    CHECK(inner.flops() == 2 * (2 * 4 * 8 * 8) * (3 * 3 * 3));
  }
  matmul(a, b);
  const Tensor y = conv2d(x, w, Tensor(), Conv2dOptions::make(2, 1));  // (2, 4, 4, 4)
  const int64_t before = outer.flops();
  conv_transpose2d(y, wt, Tensor(), Conv2dOptions::make(2, 1));       // each input feeds 2*4*4 outputs
  CHECK(outer.flops() - before == 2 * y.numel() * 2 * 16);
  CHECK(outer.flops() == 2 * (2 * 4 * 8 * 8) * 27 + 2 * 5 * 6 * 7 + 2 * (2 * 4 * 4 * 4) * 27 + 2 * y.numel() * 32);
}

TEST_CASE("host memory statistics follow tensor lifetimes", "[profiling]") {
  const MemoryStats s0 = host_memory_stats();
  reset_peak_host_memory();
  {
    const Tensor t = Tensor::zeros({1000, 1000});  // 4 MB
    CHECK(host_memory_stats().current_bytes - s0.current_bytes == 4000000);
  }
  CHECK(host_memory_stats().current_bytes == s0.current_bytes);
  CHECK(host_memory_stats().peak_bytes >= s0.current_bytes + 4000000);
}
