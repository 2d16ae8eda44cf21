#include "tools/options.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/error.hpp"
#include "tools/pipeline/presets.hpp"

namespace sdkd::tools {

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

void add_device_options(cxxopts::Options& opts) {
  opts.add_options()
    ("device", "where to compute: cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
    ("deterministic", "CUDA: fixed-order kernels, so the same seed gives the same numbers run to run")
    ("gemm", "CUDA GEMM: simt (fp32, default), tf32 (tensor cores) or cublas", cxxopts::value<std::string>());
}

// ---- data ----

void add_data_options(cxxopts::Options& opts) {
  opts.add_options()
    ("var", "array of a MAT/HDF5 data file (default: the only numeric one, else u)", cxxopts::value<std::string>())
    ("layout", "axis order of that array, letters N T C H W, e.g. NHWT for the FNO .mat files (default: .npy "
               "NTHW / NTCHW, MAT NHWT / HWT, HDF5 NTHW / NTCHW by rank)", cxxopts::value<std::string>())
    ("normalize", "zscore: train on (x - mean) / std with mean and std of the training split, kept in the "
                  "checkpoint and undone before every metric; none (default)", cxxopts::value<std::string>())
    ("loader", "ram: read the whole array into memory; stream: read the windows each batch needs from the "
               "file, on a prefetch thread; auto (default): stream when the array would not fit comfortably "
               "in RAM", cxxopts::value<std::string>())
    ("input-frames", "frames a window shows the model (default: the preset's window, 10)", cxxopts::value<int64_t>())
    ("output-frames", "frames a window asks it to forecast (default: the preset's, 10)", cxxopts::value<int64_t>())
    ("stride", "frames between the starts of two windows of one trajectory: windows slide over a long "
               "sequence (default: the preset's, 10)", cxxopts::value<int64_t>());
}

void apply_data_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  // The window section: range-checked where it is read (pipeline/windows.hpp's window_from).
  for (const char* k : {"input-frames", "output-frames", "stride"}) {
    if (!r.count(k)) continue;
    auto& w = preset["window"];
    if (w.is_null()) w = nlohmann::json::object();
    SDKD_CHECK(w.is_object(), "preset: \"window\" must be an object to take --", k, ", got ", w.type_name());
    const int64_t v = r[k].as<int64_t>();
    SDKD_CHECK(v >= 1 && v <= 1000, "--", k, " must be an integer in [1, 1000], got ", v);
    std::string key = k;
    std::replace(key.begin(), key.end(), '-', '_');
    w[key] = v;
  }
  constexpr const char* kKeys[] = {"var", "layout", "normalize", "loader"};
  if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return r.count(k) > 0; })) return;
  auto& d = preset["data"];
  if (d.is_null()) d = nlohmann::json::object();
  SDKD_CHECK(d.is_object(), "preset: \"data\" must be an object to take --var/--layout/--normalize/--loader, got ",
             d.type_name());
  for (const char* k : kKeys) {
    if (!r.count(k)) continue;
    const std::string v = r[k].as<std::string>(), problem = data_choice_problem(k, v);
    SDKD_CHECK(problem.empty(), "--", k, " ", problem);
    d[k] = v;
  }
}

// ---- train ----

void add_train_options(cxxopts::Options& opts) {
  opts.add_options()
    ("model", "model name (unet)", cxxopts::value<std::string>())
    ("hidden", "model base width", cxxopts::value<int64_t>())
    ("epochs", "training epochs", cxxopts::value<int64_t>())
    ("batch", "batch size", cxxopts::value<int64_t>())
    ("lr", "learning rate", cxxopts::value<double>())
    ("weight-decay", "weight decay", cxxopts::value<double>())
    ("adamw", "decoupled weight decay (AdamW)")
    ("grad-clip", "clip the global gradient norm (0: off)", cxxopts::value<double>())
    ("schedule", "learning-rate schedule: constant, cosine or onecycle", cxxopts::value<std::string>())
    ("patience", "early stop after this many epochs without a better validation MSE (0: off)", cxxopts::value<int64_t>())
    ("seed", "seed for initialisation and shuffling", cxxopts::value<uint64_t>())
    ("threads", "CPU threads (default: all cores)", cxxopts::value<int>())
    ("cuda-graph", "CUDA: capture the training step (forward + backward) in a CUDA graph and replay it");
  add_device_options(opts);
}

void apply_train_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  auto& t = preset["train"];
  auto& m = preset["model"];
  if (r.count("model")) m["name"] = r["model"].as<std::string>();
  if (r.count("hidden")) m["hidden"] = r["hidden"].as<int64_t>();
  if (r.count("epochs")) t["epochs"] = r["epochs"].as<int64_t>();
  if (r.count("batch")) t["batch_size"] = r["batch"].as<int64_t>();
  if (r.count("lr")) t["lr"] = r["lr"].as<double>();
  if (r.count("weight-decay")) t["weight_decay"] = r["weight-decay"].as<double>();
  if (r.count("adamw")) t["adamw"] = true;
  if (r.count("grad-clip")) t["grad_clip"] = r["grad-clip"].as<double>();
  if (r.count("schedule")) t["schedule"] = r["schedule"].as<std::string>();
  if (r.count("patience")) t["patience"] = r["patience"].as<int64_t>();
  if (r.count("seed")) t["seed"] = r["seed"].as<uint64_t>();
  if (r.count("cuda-graph")) t["cuda_graph"] = true;
}

// ---- kd ----

namespace {
std::vector<double> parse_doubles(const std::string& text, const char* option) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stod(item, &used));
      SDKD_CHECK(used == item.size(), "");
    } catch (const std::exception&) {
      throw Error(str_cat("--", option, " '", text, "': expected comma-separated numbers, e.g. 0.25,0.5"));
    }
  }
  return out;
}

std::vector<std::string> parse_names(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}
}  // namespace

void add_kd_options(cxxopts::Options& opts) {
  opts.add_options()
    ("kd", "method: sdkd, feature, ab, output or none", cxxopts::value<std::string>())
    ("lambda", "weight of the feature KD term", cxxopts::value<double>())
    ("beta", "weight of an added output KD term", cxxopts::value<double>())
    ("alpha", "sdkd: weight of the low band", cxxopts::value<double>())
    ("cutoffs", "sdkd: band cutoffs in normalised wavenumber, e.g. 0.25 or 0.2,0.5", cxxopts::value<std::string>())
    ("adaptive", "sdkd: spectrally adaptive band weights")
    ("gamma", "sdkd: exponent of the adaptive weights", cxxopts::value<double>())
    ("taps", "feature taps to align, e.g. latent or encoder,latent", cxxopts::value<std::string>())
    ("weighting", "several teachers: aver or aekd", cxxopts::value<std::string>());
}

void apply_kd_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  auto& k = preset["kd"];
  if (k.is_null()) k = nlohmann::json::object();
  if (r.count("kd")) k["method"] = r["kd"].as<std::string>();
  if (r.count("lambda")) k["lambda"] = r["lambda"].as<double>();
  if (r.count("beta")) k["beta"] = r["beta"].as<double>();
  if (r.count("alpha")) k["alpha"] = r["alpha"].as<double>();
  if (r.count("cutoffs")) k["cutoffs"] = parse_doubles(r["cutoffs"].as<std::string>(), "cutoffs");
  if (r.count("adaptive")) k["adaptive"] = true;
  if (r.count("gamma")) k["gamma"] = r["gamma"].as<double>();
  if (r.count("taps")) k["taps"] = parse_names(r["taps"].as<std::string>());
  if (r.count("weighting")) k["weighting"] = r["weighting"].as<std::string>();
}

}  // namespace sdkd::tools
