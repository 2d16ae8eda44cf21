// Shared pieces of the harness: comparisons, case registration and the timing loop.
#include "bench/kernel_bench/harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::bench {

std::string Case::name() const { return family + "/" + shape + "/" + (device.is_cuda() ? "cuda" : "cpu"); }

Check compare(const std::vector<double>& got, const std::vector<double>& ref, double tol, const std::string& what) {
  SDKD_CHECK(got.size() == ref.size(), "bench: ", what, " has ", got.size(), " values, its reference ", ref.size());
  double max_ref = 0, max_diff = 0;
  size_t compared = 0;
  bool finite = true;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(ref[i])) continue;  // not sampled by the reference
    if (!std::isfinite(got[i])) finite = false;
    max_ref = std::max(max_ref, std::abs(ref[i]));
    max_diff = std::max(max_diff, std::abs(got[i] - ref[i]));
    ++compared;
  }
  Check c;
  c.what = what;
  c.tol = tol;
  c.err = max_diff / std::max(max_ref, 1e-30);
  c.ok = finite && compared > 0 && c.err <= tol;
  if (!finite) c.err = INFINITY;
  return c;
}

Check compare(const Tensor& got, const Tensor& ref, double tol, const std::string& what) {
  SDKD_CHECK(got.shape() == ref.shape(), "bench: ", what, " has shape ", shape_str(got.shape()), ", its reference ",
             shape_str(ref.shape()));
  return compare(got.to_double_vector(), ref.to_double_vector(), tol, what);
}

Check worst(const std::vector<Check>& checks) {
  Check w;
  double worst_ratio = -1;
  bool all_ok = true;
  for (const Check& c : checks) {
    all_ok = all_ok && c.ok;
    const double r = c.ok ? c.err / std::max(c.tol, 1e-300) : INFINITY;
    if (r > worst_ratio) worst_ratio = r, w = c;
  }
  w.ok = all_ok;
  return w;
}

void add_for_devices(std::vector<Case>& out, const BuildOptions& o, const std::string& family, const PerfCase& e,
                     const std::function<Prepared(Device)>& prepare) {
  if (o.cpu) out.push_back({family, e.shape, kCpu, e.origin, &e, [prepare] { return prepare(kCpu); }, ""});
  if (o.cuda) out.push_back({family, e.shape, kCuda, e.origin, &e, [prepare] { return prepare(kCuda); }, o.cuda_skip});
}

Tensor host_randn(const Shape& shape, uint64_t salt, double scale) {
  Generator gen(0x5eedbe4c + salt);
  Tensor t = Tensor::randn(shape, gen);
  return scale == 1.0 ? t : mul_scalar(t, scale).detach();
}

void sync(Device d) {
  if (d.is_cuda()) cuda_synchronize(d.index);
}

namespace {

// Writing 256 MiB (more than the L2 of any current GPU: 50 MiB on H100, 60 MiB on H200)
// before every repeat evicts the previous repeat's data, so each timed call starts from DRAM
// as it would inside a training step between other layers' work.
// Never freed: a static Tensor would be destroyed after the CUDA allocator at exit.
Tensor& l2_flush_buffer(Device d) {
  static Tensor* buf = new Tensor(Tensor::zeros({int64_t(256) << 18}, DType::f32, d));  // 64 Mi floats
  return *buf;
}

}  // namespace

// Each repeat is timed on its own: (untimed) before() and L2 flush, synchronize, start the
// clock, run, synchronize, stop. The public API has no CUDA events, so the time includes the
// host's launch overhead and one synchronisation round trip (a few microseconds): what an
// eager call costs. The median over repeats is reported; repeats continue until their summed
// time reaches min_time (at least 3, at most 100000).
Timing time_it(const Timed& t, Device d, const TimingOptions& o) {
  using clock = std::chrono::steady_clock;
  auto one = [&]() {
    if (t.before) t.before();
    if (d.is_cuda() && o.flush_l2) l2_flush_buffer(d).fill_(0.0);
    sync(d);
    const auto t0 = clock::now();
    t.run();
    sync(d);
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  for (int i = 0; i < o.warmup; ++i) one();
  std::vector<double> ms;
  double total = 0;
  while ((total < o.min_time_s * 1e3 || ms.size() < 3) && ms.size() < 100000) {
    ms.push_back(one());
    total += ms.back();
  }
  std::sort(ms.begin(), ms.end());
  Timing r;
  r.repeats = int(ms.size());
  r.min_ms = ms.front();
  r.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  return r;
}

}  // namespace sdkd::bench
