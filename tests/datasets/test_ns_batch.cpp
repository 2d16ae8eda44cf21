// The batched Navier-Stokes solver and the batched generator on the CPU. What is compared:
// - a trajectory inside a batch against the same trajectory in a batch of one, bit for bit
//   (the CPU kernel runs each state's arithmetic separately; the data files rely on it);
// - the generator's bytes against golden hashes of the frames written by the one-trajectory
//   solver this batched one replaced (computed with that build, see kGolden below);
// - generate_ns_batches against generate_ns: any batch size, any start, the same bytes.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cstring>
#include <complex>
#include <vector>

#include "common/numeric.hpp"
#include "common/toy.hpp"
#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/error.hpp"

using namespace sdkd::data;
using cd = std::complex<double>;

namespace {

// Restores the OpenMP thread count when a test changes it.
struct Threads {
  int saved = omp_get_max_threads();
  explicit Threads(int n) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(saved); }
};

template <class T>
bool same_bytes(const T* a, const T* b, size_t count) {
  return std::memcmp(a, b, count * sizeof(T)) == 0;
}

// FNV-1a over the bytes of a float array (a golden value from another build must match exactly).
uint64_t fnv1a(const std::vector<float>& v) {
  uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// A batch's initial fields: GRF samples of the given trajectory ids (-1: a zero field).
std::vector<double> fields(const NSConfig& cfg, const std::vector<int>& ids, int n) {
  std::vector<double> w;
  for (int id : ids) {
    const auto f = id < 0 ? std::vector<double>(size_t(n) * n, 0.0) : grf_sample(cfg, id, n);
    w.insert(w.end(), f.begin(), f.end());
  }
  return w;
}

}  // namespace

TEST_CASE("NS batch: each trajectory of a mixed batch steps bit for bit as alone", "[ns][batch]") {
  // Duplicates, a zero field and both FFT paths (n = 32 radix-2, n = 24 direct DFT); two threads
  // so that the states are stepped by different threads.
  const Threads two(2);
  NSConfig cfg;
  cfg.seed = 3;
  const std::vector<int> ids = {5, 2, 5, -1, 9};
  for (auto [n, scheme, dt] : {std::tuple{32, NSScheme::ifrk4, 0.02}, std::tuple{32, NSScheme::fno, 1e-3},
                               std::tuple{24, NSScheme::ifrk4, 0.02}, std::tuple{24, NSScheme::fno, 1e-3}}) {
    INFO("n " << n << ", scheme " << (scheme == NSScheme::fno ? "fno" : "ifrk4"));
    const auto f = ns_forcing(n, 0.1);
    const size_t P = size_t(n) * n, S = size_t(n) * (n / 2 + 1), B = ids.size();
    NSSolver batch(n, 1e-3, dt, scheme, f, sdkd::Device{}, int64_t(B));
    REQUIRE(batch.batch() == int64_t(B));
    const auto w0 = fields(cfg, ids, n);
    batch.set_vorticity(w0.data());
    batch.advance(25);
    std::vector<double> wb(B * P), wa(P);
    batch.vorticity(wb.data());
    const auto& hb = batch.spectrum();
    REQUIRE(hb.size() == B * S);
    for (size_t b = 0; b < B; ++b) {
      NSSolver alone(n, 1e-3, dt, scheme, f);
      alone.set_vorticity(w0.data() + b * P);
      alone.advance(25);
      alone.vorticity(wa.data());
      INFO("trajectory " << b << " (id " << ids[b] << ")");
      CHECK(same_bytes(alone.spectrum().data(), hb.data() + b * S, S));
      CHECK(same_bytes(wa.data(), wb.data() + b * P, P));
    }
    // The duplicated trajectory is the same twice; the others differ (the comparison can fail).
    CHECK(same_bytes(hb.data(), hb.data() + 2 * S, S));
    CHECK(!same_bytes(hb.data(), hb.data() + S, S));
    // The zero field grows only through the forcing, the others are far from it.
    CHECK(sdkd::test::rel_l2(std::vector<cd>(hb.begin() + 3 * S, hb.begin() + 4 * S),
                             std::vector<cd>(hb.begin(), hb.begin() + S)) > 0.5);

    // The tendency of a batch is each state's tendency.
    std::vector<cd> tb, ta;
    batch.tendency(hb, tb);
    REQUIRE(tb.size() == B * S);
    for (size_t b = 0; b < B; b += 2) {
      NSSolver alone(n, 1e-3, dt, scheme, f);
      alone.tendency(std::vector<cd>(hb.begin() + b * S, hb.begin() + (b + 1) * S), ta);
      CHECK(same_bytes(ta.data(), tb.data() + b * S, S));
    }
  }
}

TEST_CASE("NS batch: sizes are checked with messages naming what was expected", "[ns][batch]") {
  const int n = 16;
  const auto f = ns_forcing(n, 0.1);
  CHECK_THROWS_WITH(NSSolver(n, 1e-3, 0.01, NSScheme::ifrk4, f, sdkd::Device{}, 0), Catch::Contains("batch must be >= 1"));
  NSSolver two(n, 1e-3, 0.01, NSScheme::ifrk4, f, sdkd::Device{}, 2);
  std::vector<cd> one_state(size_t(n) * (n / 2 + 1)), out;
  CHECK_THROWS_WITH(two.tendency(one_state, out), Catch::Contains("batch of 2") && Catch::Contains("expected batch *"));
  CHECK(NSSolver::bytes_per_trajectory(256, sdkd::Device{}) > 256 * 256 * 8 * 5);  // at least the 5 grids
  CHECK(NSSolver::max_batch(64, sdkd::Device{}, 0.5) >= 1);
  CHECK_THROWS_WITH(NSSolver::max_batch(64, sdkd::Device{}, 0.0), Catch::Contains("fraction"));
}

// Golden hashes of generate_ns output written by the one-trajectory solver before batching:
// FNV-1a of the float32 frames (N, T, 1, H, W) of the .npy files that the tree of 2026-12-02
// before issue 11 item 4, built CPU-only, wrote for
//   sdkd generate ns --preset smoke --trajectories 3 --frames 2 --resolution 16 --seed 7
//   sdkd generate ns --preset smoke --scheme fno --dt 1e-3 --viscosity 1e-4 --frames 1
//                    --resolution 16 --trajectories 2 --seed 1
// The batched solver must reproduce them bit for bit: existing data files stay byte-identical.
TEST_CASE("NS batch: the generator writes the bytes of the solver before batching", "[ns][batch]") {
  NSConfig rk = ns_preset("smoke");
  rk.trajectories = 3;
  rk.frames = 2;
  rk.resolution = 16;
  rk.seed = 7;
  NSConfig fno = ns_preset("smoke");
  fno.scheme = "fno";
  fno.dt = 1e-3;
  fno.viscosity = 1e-4;
  fno.frames = 1;
  fno.resolution = 16;
  fno.trajectories = 2;
  fno.seed = 1;
  const std::pair<NSConfig, uint64_t> cases[] = {{rk, 0xbeb5c94b74ad7ef5ull}, {fno, 0x95097327fdb926edull}};
  for (const auto& [cfg, hash] : cases) {
    std::vector<float> out(size_t(cfg.trajectories) * cfg.frames * 16 * 16);
    generate_ns(cfg, out.data());
    INFO(cfg.scheme << ": hash 0x" << std::hex << fnv1a(out));
    CHECK(fnv1a(out) == hash);
  }
}

TEST_CASE("NS generate_ns_batches: any batch, any start, the same bytes, in order", "[ns][batch]") {
  const Threads two(2);
  NSConfig cfg = sdkd::test::tiny_ns_config(5, 0.02, 0.1);
  cfg.seed = 4;
  const size_t per = size_t(cfg.frames) * 16 * 16;
  std::vector<float> all(size_t(cfg.trajectories) * per);
  generate_ns(cfg, all.data());
  for (int64_t batch : {1, 2, 3, 7, 0}) {
    for (int64_t first : {0, 2}) {
      INFO("batch " << batch << ", first " << first);
      std::vector<float> got(all.size(), -1.0f);
      int64_t expect_first = first, calls = 0, last_progress = first;
      generate_ns_batches(
          cfg, first, batch,
          [&](int64_t begin, int64_t count, const float* frames) {
            CHECK(begin == expect_first);  // contiguous and in order
            CHECK(count >= 1);
            if (batch > 0) CHECK(count == std::min<int64_t>(batch, cfg.trajectories - begin));
            std::copy(frames, frames + size_t(count) * per, got.begin() + std::ptrdiff_t(size_t(begin) * per));
            expect_first = begin + count;
            ++calls;
          },
          [&](int64_t done, int64_t total) {
            CHECK(done == last_progress + 1);  // per trajectory on the CPU, counting those before first
            CHECK(total == cfg.trajectories);
            last_progress = done;
          });
      CHECK(expect_first == cfg.trajectories);
      CHECK(last_progress == cfg.trajectories);
      if (batch > 0) CHECK(calls == (cfg.trajectories - first + batch - 1) / batch);
      CHECK(same_bytes(all.data() + size_t(first) * per, got.data() + size_t(first) * per,
                       size_t(cfg.trajectories - first) * per));
      if (first > 0) CHECK(got[0] == -1.0f);  // the trajectories before first are not run
    }
  }
  // Nothing left to run: no batch at all.
  int64_t calls = 0;
  generate_ns_batches(cfg, cfg.trajectories, 0, [&](int64_t, int64_t, const float*) { ++calls; });
  CHECK(calls == 0);
  CHECK_THROWS_WITH(generate_ns_batches(cfg, cfg.trajectories + 1, 0, [](int64_t, int64_t, const float*) {}),
                    Catch::Contains("first trajectory 6") && Catch::Contains("[0, 5]"));
  CHECK_THROWS_WITH(generate_ns_batches(cfg, 0, -1, [](int64_t, int64_t, const float*) {}),
                    Catch::Contains("batch must be >= 1"));
}

TEST_CASE("NS batch size: one trajectory per thread on the CPU, never more than remain", "[ns][batch]") {
  const Threads three(3);
  const NSConfig cfg = ns_preset("smoke");
  CHECK(ns_batch_size(cfg, 100) == 3);
  CHECK(ns_batch_size(cfg, 2) == 2);
  CHECK_THROWS_AS(ns_batch_size(cfg, 0), sdkd::Error);
}
