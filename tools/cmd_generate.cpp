// sdkd generate ns: simulate Navier-Stokes vorticity trajectories into a .npy file, batch by
// batch, resuming an interrupted run of the same parameters (tools/pipeline/ns_data.hpp).
#include <cstdio>
#include <cstring>
#include <string>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/ns_data.hpp"
#include "tools/pipeline/runtime.hpp"

namespace sdkd::tools {

int cmd_generate(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "ns") != 0) {
    if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
      std::printf("usage: sdkd generate ns [options]   (the only generator so far: 2-D Navier-Stokes)\n");
      return 0;
    }
    throw Error(str_cat("generate: expected a generator name, 'ns' (got '", argc >= 2 ? argv[1] : "", "')"));
  }
  cxxopts::Options opts("sdkd generate ns", "Simulate 2-D Navier-Stokes vorticity into a .npy file (docs/USAGE.md, \"generate ns\")");
  std::string presets;
  for (const auto& n : data::ns_preset_names()) presets += (presets.empty() ? "" : ", ") + n;
  opts.add_options()
    ("preset", "parameter preset: " + presets, cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "output .npy (a .json side file is written beside it)", cxxopts::value<std::string>())
    ("viscosity", "kinematic viscosity nu", number_value<double>())
    ("trajectories", "number of trajectories N", number_value<int64_t>())
    ("frames", "stored frames T (one per frame interval)", number_value<int>())
    ("resolution", "stored grid size", number_value<int>())
    ("solve-resolution", "solver grid size (a multiple of the stored one)", number_value<int>())
    ("dt", "time step", number_value<double>())
    ("scheme", "ifrk4 (integrating-factor RK4) or fno (Crank-Nicolson + Euler, dt 1e-4)", cxxopts::value<std::string>())
    ("seed", "random seed (trajectory i uses the stream (seed, i))", number_value<uint64_t>())
    ("forcing", "fno (a (sin 2pi(x+y) + cos 2pi(x+y))) or kolmogorov (-2 pi m a cos(2 pi m y), a shear flow)",
     cxxopts::value<std::string>())
    ("forcing-amplitude", "forcing amplitude a", number_value<double>())
    ("forcing-wavenumber", "kolmogorov: forcing wavenumber m", number_value<int>())
    ("batch", "trajectories per batch, the unit written out and lost to a kill (default: automatic: "
              "CPU rounds of one trajectory per thread lasting ~2 s, GPU as many as fill the device and fit "
              "in memory)", number_value<int64_t>())
    ("threads", "CPU threads (default: all cores)", number_value<int>())
    ("force", "regenerate even if an identical file exists, and do not resume an interrupted run");
  add_device_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc - 1, argv + 1, r)) return 0;
  apply_runtime(r);
  const std::string preset = r["preset"].as<std::string>();
  data::NSConfig cfg = data::ns_preset(preset);
  if (r.count("viscosity")) cfg.viscosity = r["viscosity"].as<double>();
  if (r.count("trajectories")) cfg.trajectories = r["trajectories"].as<int64_t>();
  if (r.count("frames")) cfg.frames = r["frames"].as<int>();
  if (r.count("resolution")) cfg.resolution = r["resolution"].as<int>();
  if (r.count("solve-resolution")) cfg.solve_resolution = r["solve-resolution"].as<int>();
  if (r.count("dt")) cfg.dt = r["dt"].as<double>();
  if (r.count("scheme")) cfg.scheme = r["scheme"].as<std::string>();
  if (r.count("seed")) cfg.seed = r["seed"].as<uint64_t>();
  if (r.count("forcing")) cfg.forcing = r["forcing"].as<std::string>();
  if (r.count("forcing-amplitude")) cfg.forcing_amplitude = r["forcing-amplitude"].as<double>();
  if (r.count("forcing-wavenumber")) cfg.forcing_wavenumber = r["forcing-wavenumber"].as<int>();
  const std::string out = r.count("out") ? r["out"].as<std::string>() : "data/ns_" + preset + ".npy";
  SDKD_CHECK(out.size() > 4 && out.substr(out.size() - 4) == ".npy", "--out '", out, "': expected a path ending in .npy");
  const int64_t batch = r.count("batch") ? r["batch"].as<int64_t>() : 0;
  SDKD_CHECK(!r.count("batch") || batch >= 1, "--batch: expected a number of trajectories >= 1, got ", batch);
  if (r.count("force")) {  // rank 0 alone, before any rank looks at the files
    if (dist::world().is_main())
      for (const char* suffix : {"", ".json", ".partial", ".partial.json"}) std::remove((out + suffix).c_str());
    dist::world().barrier();
  }
  ensure_ns_data(cfg, out, false, batch);
  return 0;
}

}  // namespace sdkd::tools
