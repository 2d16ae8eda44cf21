#include "tools/pipeline/ns_data.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/npy.hpp"
#include "tools/pipeline/ns_partial.hpp"
#include "tools/pipeline/runtime.hpp"
#include "sdkd/train/progress.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

nlohmann::json ns_config_json(const data::NSConfig& c) {
  nlohmann::json j = {{"viscosity", c.viscosity},
          {"trajectories", c.trajectories},
          {"frames", c.frames},
          {"resolution", c.resolution},
          {"solve_resolution", c.solve_resolution},
          {"dt", c.dt},
          {"frame_interval", c.frame_interval},
          {"scheme", c.scheme},
          {"seed", c.seed},
          {"forcing_amplitude", c.forcing_amplitude},
          {"grf_alpha", c.grf_alpha},
          {"grf_tau", c.grf_tau},
          {"grf_sigma", c.grf_sigma}};
  // Only another forcing than FNO's is recorded, so the side files written before the option
  // still describe their data.
  if (c.forcing != "fno") j["forcing"] = c.forcing, j["forcing_wavenumber"] = c.forcing_wavenumber;
  return j;
}

namespace {

// Why the file at `path` is not the finished output of these parameters ("" when it is): the
// side file we write beside it must record them, and the array must have their shape.
std::string not_ours(const data::NSConfig& cfg, const std::string& path, const nlohmann::json& params) {
  const std::string side = path + ".json";
  if (!fs::exists(side)) return "there is no " + fs::path(side).filename().string() + " beside it";
  try {
    const auto j = models::read_json_file(side);
    if (!j.is_object() || !j.contains("parameters")) return side + " is not an sdkd generate ns record";
    if (j["parameters"] != params) return "it was made with other parameters (" + json_differences(j["parameters"], params) + ")";
    const auto h = read_npy_header(path);
    const Shape want = {cfg.trajectories, cfg.frames, 1, cfg.resolution, cfg.resolution};
    if (h.shape != want || h.dtype != "f4") return "its array is not the (N, T, 1, H, W) float32 these parameters make";
  } catch (const std::exception& e) {
    return std::string("it cannot be read as our output: ") + e.what();
  }
  return "";
}

// Vorticity std per stored frame over all trajectories, a physics summary to compare with
// the data's description (docs/USAGE.md, "generate ns"), read back from the finished partial file one trajectory at a time. The sums run in
// the order trajectory, point within the frame, so the figures do not depend on the batches.
nlohmann::json frame_stds(const data::NSConfig& cfg, const PartialNpy& part) {
  const int64_t hw = int64_t(cfg.resolution) * cfg.resolution, per = cfg.frames * hw;
  std::vector<double> s(size_t(cfg.frames), 0.0), ss(size_t(cfg.frames), 0.0);
  std::vector<float> traj(static_cast<size_t>(per));
  for (int64_t n = 0; n < cfg.trajectories; ++n) {
    part.read(n, 1, traj.data());
    for (int t = 0; t < cfg.frames; ++t)
      for (int64_t i = 0; i < hw; ++i) {
        const double v = traj[size_t(t * hw + i)];
        SDKD_CHECK(std::isfinite(v), "generate ns: the solver produced non-finite values (unstable dt?)");
        s[size_t(t)] += v;
        ss[size_t(t)] += v * v;
      }
  }
  nlohmann::json stds = nlohmann::json::array();
  const double cnt = double(cfg.trajectories * hw);
  for (int t = 0; t < cfg.frames; ++t) {
    const double m = s[size_t(t)] / cnt;
    stds.push_back(std::sqrt(std::max(ss[size_t(t)] / cnt - m * m, 0.0)));
  }
  return stds;
}

// Several ranks: trajectories [first, N) in chunks of `chunk`, chunk j computed by rank
// j % size; rank 0 appends them to the partial file in order, its own as it makes them and the
// others' as they arrive (MPI, tag j), so the file holds exactly the bytes one process writes
// (a trajectory depends only on (seed, i) and the device, never on its batch).
void generate_over_ranks(dist::ProcessGroup& group, const data::NSConfig& run_cfg, int64_t first, int64_t chunk,
                         PartialNpy* part, const std::function<double()>& elapsed, const std::function<void(int64_t)>& done) {
  const size_t per = size_t(run_cfg.frames) * run_cfg.resolution * run_cfg.resolution;
  std::vector<float> frames;
  int64_t j = 0;
  for (int64_t begin = first; begin < run_cfg.trajectories; begin += chunk, ++j) {
    const int64_t count = std::min(chunk, run_cfg.trajectories - begin);
    const int owner = int(j % group.size());
    frames.resize(size_t(count) * per);
    if (owner == group.rank()) {
      data::NSConfig one = run_cfg;
      one.trajectories = begin + count;  // exactly trajectories [begin, begin + count), one batch
      data::generate_ns_batches(one, begin, count, [&](int64_t, int64_t, const float* f) {
        std::copy(f, f + size_t(count) * per, frames.begin());
      });
      if (!group.is_main()) group.send(frames.data(), frames.size() * sizeof(float), 0, int(j % 30000));
    } else if (group.is_main()) {
      group.recv(frames.data(), frames.size() * sizeof(float), owner, int(j % 30000));
    }
    if (group.is_main()) {
      part->append(begin, count, frames.data(), elapsed());
      done(begin + count);
    }
  }
}

}  // namespace

void ensure_ns_data(const data::NSConfig& cfg, const std::string& path, bool quiet, int64_t batch) {
  data::validate(cfg);
  SDKD_CHECK(batch >= 0, "--batch: expected a number of trajectories >= 1 (or 0 for automatic), got ", batch);
  dist::ProcessGroup& group = dist::world();
  const bool main_rank = group.is_main();
  quiet = quiet || !main_rank;
  const std::string side = path + ".json";
  const nlohmann::json params = ns_config_json(cfg);
  // Rank 0 decides (reuse, refuse, or make) and the others follow: "" make, "cached", or the error.
  std::string verdict;
  if (main_rank && fs::exists(path)) {
    // Someone's file under that name is never overwritten; only our own identical one is reused.
    const std::string why = not_ours(cfg, path, params);
    verdict = why.empty() ? "cached"
                          : str_cat(path, ": exists and is not the output of these parameters (", why,
                                    "); refusing to overwrite it: choose another --out, delete it, or pass --force to "
                                    "`sdkd generate ns`");
  }
  verdict = group.broadcast_string(verdict, 0);
  SDKD_CHECK(verdict.empty() || verdict == "cached", verdict);
  if (verdict == "cached") {
    if (!quiet) std::fprintf(stderr, "using cached %s\n", path.c_str());
    return;
  }
  if (main_rank) make_output_dir(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string());
  data::NSConfig run_cfg = cfg;
  run_cfg.device = compute_device();  // --device: where the solver runs (same numbers to ~1e-10)
  // The device belongs to the identity of a partial file: CPU and GPU frames differ by
  // round-off, and a file must come from one of them to be reproducible.
  const nlohmann::json identity = {{"parameters", params}, {"device", run_cfg.device.is_cuda() ? "cuda" : "cpu"}};
  std::unique_ptr<PartialNpy> part;
  if (main_rank)
    part = std::make_unique<PartialNpy>(path, std::vector<int64_t>{cfg.trajectories, cfg.frames, 1, cfg.resolution, cfg.resolution},
                                        identity, quiet);
  const auto t0 = std::chrono::steady_clock::now();
  const double earlier = part ? part->seconds() : 0.0;
  auto elapsed = [&] { return earlier + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const int64_t first = std::stoll(group.broadcast_string(part ? std::to_string(part->rows_done()) : "", 0));
  if (first < cfg.trajectories) {
    train::ProgressBar bar(first > 0 ? "generate ns (resumed)" : "generate ns", cfg.trajectories - first, "traj");
    if (group.size() == 1) {
      data::generate_ns_batches(
          run_cfg, first, batch,
          [&](int64_t begin, int64_t count, const float* frames) { part->append(begin, count, frames, elapsed()); },
          [&](int64_t done, int64_t) {
            if (!quiet) bar.update(done - first);
          });
    } else {
      // A chunk per rank at a time: --batch, or what one rank would take for its share.
      const int64_t share = (cfg.trajectories - first + group.size() - 1) / group.size();
      const int64_t chunk = batch > 0 ? batch : std::max<int64_t>(1, data::ns_batch_size(run_cfg, share));
      generate_over_ranks(group, run_cfg, first, chunk, part.get(), elapsed, [&](int64_t done) {
        if (!quiet) bar.update(done - first);
      });
    }
    if (!quiet) bar.finish();
  }
  if (!main_rank) {
    group.barrier();  // returns once rank 0 has published the file
    return;
  }
  nlohmann::json stds;
  try {
    stds = frame_stds(cfg, *part);
  } catch (const Error&) {
    part->discard();  // finished but unusable: a rerun must not resume it
    throw;
  }
  const double secs = elapsed();
  nlohmann::json j = {{"generator", "sdkd generate ns"},
                      {"layout", "(N, T, C, H, W) float32, frame k at t = k * frame_interval, k = 1..T"},
                      {"parameters", params},
                      {"seconds", secs},
                      {"vorticity_std_per_frame", stds}};
  // The side file first: `path` does not exist here (an existing one was refused above, or
  // removed by --force), so a kill between the two leaves a side file without data, which the
  // next run replaces, never data without the record that makes it ours.
  write_text_atomic(side, j.dump(2) + "\n");
  part->publish();
  if (!quiet) std::fprintf(stderr, "wrote %s (%lld trajectories, %.1f s)\n", path.c_str(), (long long)cfg.trajectories, secs);
  group.barrier();
}

}  // namespace sdkd::tools
