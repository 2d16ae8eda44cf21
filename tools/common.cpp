#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "sdkd/atomic_file.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/npy.hpp"
#include "sdkd/threads.hpp"
#include "train/progress.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

nlohmann::json load_preset(const std::string& name) {
  const auto& presets = embedded_presets();
  std::string text;
  std::string where = name;
  if (auto it = presets.find(name); it != presets.end()) {
    text = it->second;
    where = "preset '" + name + "'";
  } else if (name.find('/') != std::string::npos || name.find(".json") != std::string::npos) {
    text = read_text_file(name);
  } else {
    std::string names;
    for (const auto& [k, v] : presets) names += (names.empty() ? "" : ", ") + k;
    throw Error(str_cat("unknown preset '", name, "' (available: ", names, "; or a path to a JSON file)"));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(where, ": not valid JSON: ", e.what()));
  }
}

bool parse_options(cxxopts::Options& opts, int argc, char** argv, cxxopts::ParseResult& out) {
  opts.add_options()("h,help", "show this help");
  try {
    out = opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(str_cat(opts.program(), ": ", e.what(), " (see --help)"));
  }
  if (out.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return false;
  }
  if (!out.unmatched().empty())
    throw Error(str_cat(opts.program(), ": unexpected argument '", out.unmatched().front(), "' (see --help)"));
  return true;
}

namespace {
Device g_device;
}

void add_device_options(cxxopts::Options& opts) {
  opts.add_options()
    ("device", "where to compute: cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
    ("deterministic", "CUDA: fixed-order kernels, so the same seed gives the same numbers run to run")
    ("gemm", "CUDA GEMM: simt (fp32, default), tf32 (tensor cores) or cublas", cxxopts::value<std::string>());
}

void apply_runtime(const cxxopts::ParseResult& r) {
  int n = int(std::thread::hardware_concurrency());
  if (r.count("threads")) n = r["threads"].as<int>();
  SDKD_CHECK(n >= 1, "--threads must be >= 1, got ", n);
  set_num_threads(std::max(n, 1));
  std::string text = "cpu";
  try {
    text = r["device"].as<std::string>();
  } catch (const cxxopts::exceptions::exception&) {
    // this command has no --device option: it computes on the CPU
  }
  Device d;
  try {
    d = parse_device(text);
  } catch (const Error& e) {
    throw Error(str_cat("--device: ", e.what()));
  }
  if (d.is_cuda()) require_cuda("--device " + text, d.index);
  g_device = d;
  if (r.count("deterministic")) set_deterministic(true);
  if (r.count("gemm")) {
    try {
      set_gemm_backend(parse_gemm_backend(r["gemm"].as<std::string>()));
    } catch (const Error& e) {
      throw Error(str_cat("--gemm: ", e.what()));
    }
  }
}

Device compute_device() { return g_device; }

void place(models::Forecaster& model) { model.to(g_device); }

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
      const auto j = nlohmann::json::parse(read_text_file(side));
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

models::ModelConfig model_config_for(const nlohmann::json& model_json, const data::SequenceDataset& data) {
  nlohmann::json j = model_json;
  j["in_frames"] = data.spec().input_frames;
  j["out_frames"] = data.spec().output_frames;
  j["channels"] = data.channels();
  j["height"] = data.height();
  j["width"] = data.width();
  return models::ModelConfig::from_json(j);
}

std::shared_ptr<models::Forecaster> load_model(const std::string& checkpoint) {
  SDKD_CHECK(fs::exists(checkpoint), checkpoint, ": checkpoint not found");
  Metadata meta;
  const TensorMap tensors = load_tensors(checkpoint, &meta);
  SDKD_CHECK(meta.count("model"), checkpoint, ": no 'model' entry in the metadata (not an sdkd checkpoint?)");
  const auto cfg = models::ModelConfig::from_json(nlohmann::json::parse(meta.at("model")));
  Generator g(0);
  auto model = models::make_model(cfg, g);
  TensorMap weights;
  for (const auto& [k, t] : tensors)
    if (k.rfind("optim.", 0) != 0) weights[k] = t;
  try {
    model->load_state_dict(weights);
  } catch (const Error& e) {
    throw Error(checkpoint + ": " + e.what());
  }
  model->eval();
  place(*model);
  return model;
}

}  // namespace sdkd::tools
