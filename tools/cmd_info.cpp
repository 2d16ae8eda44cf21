// sdkd info: what a model is made of.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/device.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"
#include "tools/pipeline/cost.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/provenance.hpp"

namespace sdkd::tools {

namespace {
// An option that sets one integer of the model config, checked by the config's own range table
// (models/forecaster.cpp) before any work, its error naming the option rather than the field:
// "--size must be an integer in [1, 16384], got 0".
void check_model_int(const char* option, const char* key, int64_t value) {
  try {
    (void)models::ModelConfig::from_json({{key, value}}, "");  // where "": the error starts with the key
  } catch (const Error& e) {
    const std::string msg = e.what();
    throw Error(msg.rfind(key, 0) == 0 ? option + msg.substr(std::strlen(key)) : str_cat(option, ": ", msg));
  }
}
}  // namespace

int cmd_info(int argc, char** argv) {
  cxxopts::Options opts("sdkd info", "Parameter count and forward FLOPs of a model (every tensor with --verbose); the CUDA devices (--devices)");
  opts.add_options()
    ("model", "model name: unet, resnet, mixer, simvp, alternet (default: the preset's)", cxxopts::value<std::string>())
    ("preset", "preset whose model section (the student) gives the settings: smoke, demo, paper or a JSON file",
     cxxopts::value<std::string>()->default_value("demo"))
    ("hidden", "base width", number_value<int64_t>())
    ("size", "grid size H = W", number_value<int64_t>()->default_value("64"))
    ("v,verbose", "list every parameter tensor")
    ("devices", "list the CUDA devices this build can use");
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  check_model_int("--size", "height", r["size"].as<int64_t>());
  if (r.count("hidden")) check_model_int("--hidden", "hidden", r["hidden"].as<int64_t>());
  std::printf("%s\n", version_line().c_str());
  std::printf("CPU GEMM: %s\n", cpu_gemm_summary().c_str());
  std::printf("CPU threads: %s\n", cpu_threads_summary().c_str());
  std::printf("distributed: %s\n", dist::distributed_build_info().c_str());
  if (r.count("devices")) {
    const std::string why = cuda_unavailable_reason();
    if (!why.empty()) std::printf("no CUDA device: %s\n", why.c_str());
    for (int i = 0; i < cuda_device_count(); ++i) std::printf("cuda:%d %s\n", i, cuda_device_summary(i).c_str());
    return 0;
  }
  nlohmann::json mj = models::json_section(load_preset(r["preset"].as<std::string>()), "preset:", "model");
  if (r.count("model")) mj["name"] = r["model"].as<std::string>();
  if (r.count("hidden")) mj["hidden"] = r["hidden"].as<int64_t>();
  mj["height"] = mj["width"] = r["size"].as<int64_t>();
  const auto cfg = models::ModelConfig::from_json(mj);
  Generator g(0);
  auto model = models::make_model(cfg, g);
  const std::string settings = cfg.to_json().dump();
  std::printf("%s: %lld parameters, %.4g GFLOPs per sample forward (%s)\n", cfg.name.c_str(),
              (long long)model->num_parameters(), double(flops_per_sample(*model)) * 1e-9, settings.c_str());
  if (r.count("verbose"))
    for (const auto& [n, t] : model->named_parameters()) std::printf("  %-28s %s\n", n.c_str(), t.str().c_str());
  return 0;
}

}  // namespace sdkd::tools
