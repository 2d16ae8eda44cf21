// sdkd distill: train a student from frozen teacher checkpoints (SPEC §3).
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "distill/distiller.hpp"
#include "sdkd/error.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

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

TrainedModel distill_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                 const std::vector<distill::TeacherModel>& teachers, const std::string& out_dir,
                                 bool resume) {
  const auto split = data::split_indices(ds.trajectories(), preset.value("split_seed", uint64_t(0)));
  auto tcfg = train::TrainConfig::from_json(preset.at("train"));
  tcfg.out_dir = out_dir;
  tcfg.resume = resume;
  const auto kcfg = distill::KDConfig::from_json(preset.value("kd", nlohmann::json::object()));
  const auto mcfg = model_config_for(preset.at("model"), ds);
  Generator g(tcfg.seed);
  TrainedModel tm;
  tm.model = models::make_model(mcfg, g);
  place(*tm.model);
  // Adapters draw from their own stream so the student's initialisation is the same with
  // and without distillation (paired comparisons per seed).
  Generator ga(tcfg.seed ^ 0xADA7u);
  distill::Distiller d(kcfg, *tm.model, teachers, ga);
  std::string names;
  for (const auto& t : teachers) names += (names.empty() ? "" : ", ") + t.name;
  std::fprintf(stderr, "distilling %s (%lld parameters) from %s with %s (lambda %g) on %s\n", mcfg.name.c_str(),
               (long long)tm.model->num_parameters(), names.empty() ? "no teacher" : names.c_str(),
               distill::kd_method_name(kcfg.method), kcfg.lambda, ds.name().c_str());
  tm.result = train::train_forecaster(*tm.model, ds, split, tcfg, d.hooks());
  return tm;
}

int cmd_distill(int argc, char** argv) {
  cxxopts::Options opts("sdkd distill", "Train a student with knowledge distillation from frozen teacher checkpoints");
  opts.add_options()
    ("data", "dataset .npy (N, T, C, H, W) float32", cxxopts::value<std::string>())
    ("teacher", "teacher checkpoint (repeat for several teachers)", cxxopts::value<std::vector<std::string>>())
    ("preset", "preset for student/train/kd settings", cxxopts::value<std::string>()->default_value("demo"))
    ("o,out", "run folder", cxxopts::value<std::string>()->default_value("runs/distill"))
    ("resume", "continue from <out>/last.safetensors if present");
  add_train_options(opts);
  add_kd_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd distill: --data FILE is required");
  apply_runtime(r);
  nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  apply_train_overrides(r, preset);
  apply_kd_overrides(r, preset);
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  std::vector<distill::TeacherModel> teachers;
  if (r.count("teacher"))
    for (const auto& path : r["teacher"].as<std::vector<std::string>>())
      teachers.push_back({fs::path(path).parent_path().filename().string() + "_" + std::to_string(teachers.size()),
                          load_model(path)});
  const auto method = distill::parse_kd_method(preset["kd"].value("method", std::string("none")));
  SDKD_CHECK(method == distill::KDMethod::none || !teachers.empty(), "sdkd distill: --kd ",
             distill::kd_method_name(method), " needs at least one --teacher CHECKPOINT");
  const data::SequenceDataset ds(data_path, window_from(preset));
  const std::string out = r["out"].as<std::string>();
  report_run(distill_from_preset(preset, ds, teachers, out, r.count("resume") > 0), preset, out);
  return 0;
}

}  // namespace sdkd::tools
