// sdkd-allreduce-bench: the all-reduce the gradient reducer runs, timed per message size as
// nccl-tests does (algorithm bandwidth = bytes / time; bus bandwidth = algbw * 2 (n - 1) / n, the
// traffic each link carries in a ring, comparable across rank counts). Launch it as the training:
//   mpirun -np 2 build/bench/sdkd-allreduce-bench                    (CPU ranks, MPI)
//   mpirun -np 8 build/bench/sdkd-allreduce-bench --device cuda      (one GPU per rank, NCCL)
// Every timed message is checked: rank r sends r + 1, every element must come back n (n + 1) / 2.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "sdkd/device.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;

int main(int argc, char** argv) {
  cxxopts::Options opts("sdkd-allreduce-bench", "All-reduce bus bandwidth over this run's ranks (MPI, or NCCL on GPUs)");
  opts.add_options()("device", "cpu or cuda (one GPU per local rank, NCCL)", cxxopts::value<std::string>()->default_value("cpu"))(
      "min-bytes", "smallest message", cxxopts::value<int64_t>()->default_value("4096"))(
      "max-bytes", "largest message", cxxopts::value<int64_t>()->default_value("67108864"))(
      "iters", "timed repetitions per size", cxxopts::value<int>()->default_value("20"))("h,help", "this help");
  try {
    const auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    const Device want = parse_device(r["device"].as<std::string>());
    dist::ProcessGroup& g = dist::init_world(want.is_cuda());
    const Device dev = want.is_cuda() ? Device{DeviceType::cuda, g.nccl_device() >= 0 ? g.nccl_device() : want.index} : want;
    const int n = g.size(), iters = std::max(1, r["iters"].as<int>());
    if (g.is_main())
      std::printf("# %d ranks, %s, %s, on %s\n# %12s %12s %12s %12s\n", n, g.backend().c_str(),
                  dist::distributed_build_info().c_str(), dev.str().c_str(), "bytes", "time_us", "algbw_GB/s",
                  "busbw_GB/s");
    int bad = 0;
    for (int64_t bytes = r["min-bytes"].as<int64_t>(); bytes <= r["max-bytes"].as<int64_t>(); bytes *= 2) {
      const int64_t count = std::max<int64_t>(1, bytes / 4);
      Tensor t = Tensor::full({count}, double(g.rank() + 1), DType::f32, dev);
      auto sync = [&] {
        if (dev.is_cuda()) cuda_synchronize(dev.index);
      };
      for (int w = 0; w < 3; ++w) g.all_reduce_sum(t);  // warm-up (NCCL's first call sets up its channels)
      t.fill_(double(g.rank() + 1));
      sync();
      g.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) g.all_reduce_sum(t);
      sync();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
      // One more, checked: x_r = r + 1 sums to n (n + 1) / 2 everywhere.
      t.fill_(double(g.rank() + 1));
      g.all_reduce_sum(t);
      const double expect = double(n) * double(n + 1) / 2.0;
      const std::vector<float> v = t.to_float_vector();
      for (float x : v)
        if (std::fabs(double(x) - expect) > 1e-5 * expect) {
          ++bad;
          break;
        }
      const double mean = g.sum(secs) / double(n);  // over ranks
      const double algbw = double(count * 4) / mean / 1e9, busbw = algbw * 2.0 * double(n - 1) / double(n);
      if (g.is_main()) std::printf("  %12lld %12.1f %12.3f %12.3f\n", (long long)(count * 4), mean * 1e6, algbw, busbw);
    }
    const double bad_total = g.sum(double(bad));
    if (g.is_main() && bad_total > 0) std::printf("# %g wrong results\n", bad_total);
    return bad_total > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd-allreduce-bench: error: %s\n", e.what());
    dist::abort_run(2);
    return 2;
  }
}
