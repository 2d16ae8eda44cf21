#include "tools/pipeline/ns_data.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "datasets/navier_stokes.hpp"
#include "models/config_json.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/npy.hpp"
#include "tools/pipeline/runtime.hpp"
#include "train/progress.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

nlohmann::json ns_config_json(const data::NSConfig& c) {
  return {{"viscosity", c.viscosity},
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
}

void ensure_ns_data(const data::NSConfig& cfg, const std::string& path, bool quiet) {
  data::validate(cfg);
  const std::string side = path + ".json";
  const nlohmann::json params = ns_config_json(cfg);
  if (fs::exists(path) && fs::exists(side)) {
    try {
      const auto j = models::read_json_file(side);
      const auto h = read_npy_header(path);
      const Shape want = {cfg.trajectories, cfg.frames, 1, cfg.resolution, cfg.resolution};
      if (j.at("parameters") == params && h.shape == want && h.dtype == "f4") {
        if (!quiet) std::fprintf(stderr, "using cached %s\n", path.c_str());
        return;
      }
    } catch (const std::exception&) {
      // A damaged cache is regenerated below.
    }
  }
  if (!fs::path(path).parent_path().empty()) fs::create_directories(fs::path(path).parent_path());
  const int64_t per = int64_t(cfg.frames) * cfg.resolution * cfg.resolution;
  std::vector<float> out(size_t(cfg.trajectories * per));
  const auto t0 = std::chrono::steady_clock::now();
  {
    train::ProgressBar bar("generate ns", cfg.trajectories, "traj");
    data::NSConfig run_cfg = cfg;
    run_cfg.device = compute_device();  // --device: where the solver runs (same numbers to ~1e-10)
    data::generate_ns(run_cfg, out.data(), [&](int64_t done, int64_t) {
      if (!quiet) bar.update(done);
    });
    if (!quiet) bar.finish();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Vorticity std per stored frame, a physics summary to compare with SPEC §1.
  nlohmann::json stds = nlohmann::json::array();
  for (int t = 0; t < cfg.frames; ++t) {
    double s = 0, ss = 0;
    const int64_t hw = int64_t(cfg.resolution) * cfg.resolution;
    for (int64_t n = 0; n < cfg.trajectories; ++n)
      for (int64_t i = 0; i < hw; ++i) {
        const double v = out[size_t(n * per + t * hw + i)];
        s += v;
        ss += v * v;
      }
    const double cnt = double(cfg.trajectories * hw), m = s / cnt;
    stds.push_back(std::sqrt(std::max(ss / cnt - m * m, 0.0)));
  }
  for (float v : out) SDKD_CHECK(std::isfinite(v), "generate ns: the solver produced non-finite values (unstable dt?)");
  write_npy(path, "f4", {cfg.trajectories, cfg.frames, 1, cfg.resolution, cfg.resolution}, out.data());
  nlohmann::json j = {{"generator", "sdkd generate ns"},
                      {"layout", "(N, T, C, H, W) float32, frame k at t = k * frame_interval, k = 1..T"},
                      {"parameters", params},
                      {"seconds", secs},
                      {"vorticity_std_per_frame", stds}};
  write_text_atomic(side, j.dump(2) + "\n");
  if (!quiet) std::fprintf(stderr, "wrote %s (%lld trajectories, %.1f s)\n", path.c_str(), (long long)cfg.trajectories, secs);
}

}  // namespace sdkd::tools
