#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("host block size classes: at least the request, at most 1/8 more, powers of two exact", "[profiling]") {
  const size_t min_block = size_t(host_cache_stats().min_block_bytes);
  CHECK(host_cache_block_bytes(1) == 64);
  CHECK(host_cache_block_bytes(100) == 128);
  for (size_t bytes : {min_block, min_block + 1, size_t(1) << 20, (size_t(1) << 20) + 1, size_t(3000001),
                       size_t(104857600), size_t(1) << 33}) {
    const size_t block = host_cache_block_bytes(bytes);
    INFO(bytes);
    CHECK(block >= bytes);
    CHECK(double(block) <= 1.125 * double(bytes) + 64);
    CHECK(block % 64 == 0);
    CHECK(host_cache_block_bytes(block) == block);  // a class maps to itself
  }
  CHECK(host_cache_block_bytes(size_t(1) << 20) == size_t(1) << 20);
}

TEST_CASE("large host tensors reuse a freed block of their size class", "[profiling]") {
  set_host_cache_limit(int64_t(1) << 30);
  empty_host_cache();
  const HostCacheStats s0 = host_cache_stats();
  const void* first = nullptr;
  {
    const Tensor t = Tensor::empty({1000, 1000});  // 4 MB: cached
    first = t.data<float>();
  }
  const HostCacheStats s1 = host_cache_stats();
  CHECK(s1.system_allocs == s0.system_allocs + 1);
  CHECK(s1.cached_bytes == s0.cached_bytes + int64_t(host_cache_block_bytes(4000000)));
  {
    const Tensor t = Tensor::empty({999, 1001});  // 3999996 bytes: the same class
    CHECK(t.data<float>() == first);
    CHECK(host_cache_stats().reuses == s1.reuses + 1);
    CHECK(host_cache_stats().cached_bytes == s0.cached_bytes);
    CHECK(host_cache_stats().reserved_bytes == s1.reserved_bytes);
  }
  {
    const Tensor small = Tensor::empty({1000});  // below the minimum block: not cached
    (void)small;
  }
  CHECK(host_cache_stats().system_allocs == s1.system_allocs);
  empty_host_cache();
  CHECK(host_cache_stats().cached_bytes == 0);
  CHECK(host_cache_stats().reserved_bytes == s1.reserved_bytes - s1.cached_bytes);
}

TEST_CASE("the host cache keeps under its limit and 0 turns it off", "[profiling]") {
  const int64_t old_limit = host_cache_stats().limit_bytes;
  set_host_cache_limit(0);
  CHECK(host_cache_stats().cached_bytes == 0);
  const HostCacheStats s0 = host_cache_stats();
  { const Tensor t = Tensor::empty({1000, 1000}); }
  CHECK(host_cache_stats().cached_bytes == 0);
  CHECK(host_cache_stats().reserved_bytes == s0.reserved_bytes);
  { const Tensor t = Tensor::empty({1000, 1000}); }
  CHECK(host_cache_stats().reuses == s0.reuses);
  CHECK(host_cache_stats().system_allocs == s0.system_allocs + 2);
  // A limit of one 4 MB block keeps exactly one of two freed blocks.
  set_host_cache_limit(int64_t(host_cache_block_bytes(4000000)));
  {
    const Tensor a = Tensor::empty({1000, 1000}), b = Tensor::empty({1000, 1000});
    (void)a, (void)b;
  }
  CHECK(host_cache_stats().cached_bytes == int64_t(host_cache_block_bytes(4000000)));
  CHECK_THROWS_WITH(set_host_cache_limit(-1), Catch::Contains("bytes >= 0"));
  set_host_cache_limit(old_limit);
}

// Brings the bytes in use up to their peak with a tensor the caller keeps alive (empty touches
// no page, so even a peak of gigabytes costs nothing), with no headroom: from there on every
// block a test allocates raises the bound, whatever earlier tests left behind.
Tensor reach_high_mark() {
  set_host_cache_headroom(0);
  empty_host_cache();
  const HostCacheStats s = host_cache_stats();
  const int64_t gap = std::max<int64_t>(s.peak_in_use_bytes - s.reserved_bytes, int64_t(1) << 20);
  Tensor filler = Tensor::empty({gap / 4});
  CHECK(host_cache_stats().reserved_bytes == host_cache_stats().peak_in_use_bytes);
  return filler;
}

// Restores the default headroom when a test ends, passed or not.
struct DefaultHeadroom {
  ~DefaultHeadroom() { set_host_cache_headroom(0.125); }
};

TEST_CASE("a request no cached block fits releases cached blocks first: live + cached never grows past its mark",
          "[profiling]") {
  DefaultHeadroom restore;
  set_host_cache_limit(int64_t(1) << 30);
  const Tensor filler = reach_high_mark();
  const int64_t four = int64_t(host_cache_block_bytes(4000000)), eight = int64_t(host_cache_block_bytes(8000000));
  const HostCacheStats s0 = host_cache_stats();
  { const Tensor a = Tensor::empty({1000, 1000}), b = Tensor::empty({1000, 1000}); }  // two 4 MB blocks cached
  CHECK(host_cache_stats().cached_bytes == 2 * four);
  {
    const Tensor c = Tensor::empty({2000, 1000});  // 8 MB: no block of its class; both 4 MB ones go back
    const HostCacheStats s1 = host_cache_stats();
    CHECK(s1.cached_bytes == 0);
    CHECK(s1.releases == s0.releases + 2);
    CHECK(s1.reserved_bytes == s0.reserved_bytes + eight);
    CHECK(s1.peak_reserved_bytes >= s0.reserved_bytes + 2 * four);
  }
  {
    const Tensor d = Tensor::empty({500, 1000});  // 2 MB: the cached 8 MB block goes back first
    CHECK(host_cache_stats().cached_bytes == 0);
  }
  empty_host_cache();
}

TEST_CASE("below the high mark a miss keeps the cached blocks of other sizes for their next use", "[profiling]") {
  DefaultHeadroom restore;
  set_host_cache_headroom(0);
  set_host_cache_limit(int64_t(1) << 30);
  empty_host_cache();
  const int64_t four = int64_t(host_cache_block_bytes(4000000)), eight = int64_t(host_cache_block_bytes(8000000));
  { const Tensor a = Tensor::empty({1000, 1000}), c = Tensor::empty({2000, 1000}); }  // the mark: 12 MB live
  empty_host_cache();
  const HostCacheStats s0 = host_cache_stats();
  CHECK(s0.peak_in_use_bytes >= s0.reserved_bytes + four + eight);
  { const Tensor c = Tensor::empty({2000, 1000}); }  // 8 MB cached
  CHECK(host_cache_stats().cached_bytes == eight);
  {
    const Tensor d = Tensor::empty({1000, 1000});  // a 4 MB miss: 8 + 4 stays within the mark
    const HostCacheStats s1 = host_cache_stats();
    CHECK(s1.cached_bytes == eight);
    CHECK(s1.releases == s0.releases);
    CHECK(s1.reserved_bytes == s0.reserved_bytes + four + eight);
    CHECK(s1.peak_in_use_bytes == s0.peak_in_use_bytes);
    const Tensor c = Tensor::empty({2000, 1000});  // and the 8 MB phase finds its block again
    CHECK(host_cache_stats().reuses == s1.reuses + 1);
    CHECK(host_cache_stats().system_allocs == s1.system_allocs);
  }
  empty_host_cache();
}

TEST_CASE("the headroom keeps another phase's blocks past the peak in use, and only that far", "[profiling]") {
  DefaultHeadroom restore;
  set_host_cache_limit(int64_t(1) << 30);
  const Tensor filler = reach_high_mark();  // reserved == peak in use, headroom 0
  const int64_t two = int64_t(host_cache_block_bytes(2000000)), eight = int64_t(host_cache_block_bytes(8000000));
  { const Tensor a = Tensor::empty({2000, 1000}); }  // phase A: an 8 MB block, now cached
  const HostCacheStats s0 = host_cache_stats();
  REQUIRE(s0.cached_bytes == eight);
  // Phase B's 2 MB miss: room for both within a headroom of (8 + 2 MB) / the peak in use.
  set_host_cache_headroom(double(eight + two) / double(s0.peak_in_use_bytes));
  {
    const Tensor b = Tensor::empty({500, 1000});
    const HostCacheStats s1 = host_cache_stats();
    CHECK(s1.releases == s0.releases);  // A's block stays
    CHECK(s1.cached_bytes == eight);
    CHECK(s1.reserved_bytes <= s1.peak_in_use_bytes + int64_t(s1.headroom * double(s1.peak_in_use_bytes)));
  }
  { const Tensor a = Tensor::empty({2000, 1000}); }  // phase A again: a reuse, no fresh block
  CHECK(host_cache_stats().system_allocs == s0.system_allocs + 1);
  // Past the bound, the fewest bytes go back: cached 32 and 8 MB blocks at the peak in use
  // (headroom 0), a 4 MB miss returns the 8 MB block (the smallest that covers the excess),
  // not the 32 MB one that largest-first would (an activation the next step needs).
  empty_host_cache();
  set_host_cache_headroom(0);
  const int64_t big = int64_t(host_cache_block_bytes(32000000));
  {
    const Tensor top = reach_high_mark();
    { const Tensor x = Tensor::empty({8000, 1000}), y = Tensor::empty({2000, 1000}); }
    const HostCacheStats s2 = host_cache_stats();
    REQUIRE(s2.cached_bytes == big + eight);
    REQUIRE(s2.reserved_bytes == s2.peak_in_use_bytes);
    const Tensor c = Tensor::empty({1000, 1000});
    const HostCacheStats s3 = host_cache_stats();
    CHECK(s3.releases == s2.releases + 1);
    CHECK(s3.cached_bytes == big);
    CHECK(s3.reserved_bytes <= s3.peak_in_use_bytes);
  }
  CHECK_THROWS_WITH(set_host_cache_headroom(-0.5), Catch::Contains("fraction in [0, 4]"));
  empty_host_cache();
}

TEST_CASE("a shape whose byte count would overflow is refused, not wrapped", "[profiling]") {
  const int64_t big = int64_t(1) << 31;
  CHECK_THROWS_WITH(Tensor::empty({big, big, big}), Catch::Contains("too large"));
  CHECK_THROWS_WITH(Tensor::empty({4, -1}), Catch::Contains("negative dimension"));
  CHECK(Tensor::empty({big, big, 0}).numel() == 0);
}
