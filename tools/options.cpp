#include "tools/options.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/error.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/runtime.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::tools {

namespace {

// A number option's value that did not parse: the text and what was expected. parse_options
// finds the option it was given to (cxxopts reports only the value).
struct BadOptionValue {
  std::string text, expected;
};

template <class T>
const char* expected_kind() {
  if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_unsigned_v<T>) return "a non-negative integer";
  else return "an integer";
}

template <class T>
class NumberValue final : public cxxopts::values::standard_value<T> {
 public:
  using cxxopts::values::standard_value<T>::parse;
  std::shared_ptr<cxxopts::Value> clone() const override { return std::make_shared<NumberValue>(*this); }
  void parse(const std::string& text) const override {
    try {
      cxxopts::values::standard_value<T>::parse(text);
    } catch (const cxxopts::exceptions::exception&) {
      throw BadOptionValue{text, expected_kind<T>()};
    }
  }
};

// The option argv gave `value` to ("--epochs abc", "--epochs=abc", "-o abc"), "" if none.
std::string option_with_value(int argc, char** argv, const std::string& value) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.size() < 2 || a[0] != '-') continue;
    const size_t eq = a.find('=');
    if (eq != std::string::npos && a.compare(eq + 1, std::string::npos, value) == 0) return a.substr(0, eq);
    if (eq == std::string::npos && i + 1 < argc && value == argv[i + 1]) return a;
  }
  return "";
}

// "is not an integer", or for digits that do not fit, "is out of range for an integer".
std::string value_problem(const BadOptionValue& bad) {
  const std::string& t = bad.text;
  const size_t digits_from = !t.empty() && (t[0] == '-' || t[0] == '+') ? 1 : 0;
  const bool digits = t.size() > digits_from && t.find_first_not_of("0123456789", digits_from) == std::string::npos;
  if (digits && bad.expected != "a number")
    return str_cat("'", t, "' is out of range (expected ", bad.expected, " that fits in 64 bits)");
  return str_cat("'", t, "' is not ", bad.expected);
}

}  // namespace

template <class T>
std::shared_ptr<cxxopts::Value> number_value() {
  return std::make_shared<NumberValue<T>>();
}
template std::shared_ptr<cxxopts::Value> number_value<int>();
template std::shared_ptr<cxxopts::Value> number_value<int64_t>();
template std::shared_ptr<cxxopts::Value> number_value<uint64_t>();
template std::shared_ptr<cxxopts::Value> number_value<double>();

bool parse_options(cxxopts::Options& opts, int argc, char** argv, cxxopts::ParseResult& out) {
  opts.add_options()("h,help", "show this help");
  try {
    out = opts.parse(argc, argv);
  } catch (const BadOptionValue& bad) {
    const std::string option = option_with_value(argc, argv, bad.text);
    throw Error(str_cat(opts.program(), ": ", option.empty() ? "" : option + ": ", value_problem(bad), " (see --help)"));
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
    ("input-frames", "frames a window shows the model (default: the preset's window, 10)", number_value<int64_t>())
    ("output-frames", "frames a window asks it to forecast (default: the preset's, 10)", number_value<int64_t>())
    ("stride", "frames between the starts of two windows of one trajectory: windows slide over a long "
               "sequence (default: the preset's, 10)", number_value<int64_t>());
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
    ("model", "model: unet, resnet, mixer (students), simvp, alternet (teachers)", cxxopts::value<std::string>())
    ("hidden", "model base width", number_value<int64_t>())
    ("epochs", "training epochs", number_value<int64_t>())
    ("batch", "batch size (per rank under mpirun/srun: the step's batch is this times the ranks)", number_value<int64_t>())
    ("lr", "learning rate", number_value<double>())
    ("weight-decay", "weight decay", number_value<double>())
    ("adamw", "decoupled weight decay (AdamW)")
    ("grad-clip", "clip the global gradient norm (0: off)", number_value<double>())
    ("schedule", "learning-rate schedule: constant, cosine or onecycle", cxxopts::value<std::string>())
    ("patience", "early stop after this many epochs without a better validation MSE (0: off)", number_value<int64_t>())
    ("seed", "seed for initialisation and shuffling", number_value<uint64_t>())
    ("train-trajectories", "train on the first N trajectories of the training split (0: all; validation and test unchanged)",
     number_value<int64_t>())
    ("threads", "CPU threads (default: all cores)", number_value<int>())
    ("cuda-graph", "CUDA: capture the training step (forward + backward) in a CUDA graph and replay it")
    ("sync-bn", "several ranks: BatchNorm statistics over the global batch, not each rank's (docs/DISTRIBUTED.md)")
    ("bucket-kb", "several ranks: gradients are all-reduced in buckets of this many KiB while backward runs",
     number_value<int64_t>())
    ("quiet", "print only errors and the results: no progress or information lines")
    ("log-json", "append one JSON object per epoch (run, epoch, losses, val mse, ETAs) to this file; - for stdout",
     cxxopts::value<std::string>());
  add_device_options(opts);
}

namespace {

// An option that overrides one key of a preset section, and how its value is read.
struct SectionOption {
  const char* option;
  const char* section;  // model, train or kd
  const char* key;
  nlohmann::json (*value)(const cxxopts::ParseResult& r, const char* option);
};

template <class T>
nlohmann::json as(const cxxopts::ParseResult& r, const char* option) {
  return r[option].as<T>();
}
nlohmann::json flag(const cxxopts::ParseResult&, const char*) { return true; }

// A value as it was typed: 0.5,0.2 for a list, the text of a string.
std::string shown(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return str_cat(v.get<double>());  // -1, not -1.0
  if (!v.is_array()) return v.dump();
  std::string out;
  for (const auto& e : v) out += (out.empty() ? "" : ",") + shown(e);
  return out;
}

// The value alone through its section's parser, so a bad one is refused naming the option
// ("--batch -1: train.batch_size must be an integer in [1, 100000], got -1") before any work;
// what involves several keys is checked with the whole section afterwards.
void check_option_value(const SectionOption& o, const nlohmann::json& v) {
  const nlohmann::json one = {{o.key, v}};
  const std::string section = o.section;
  try {
    if (section == "model") (void)models::ModelConfig::from_json(one, section);
    else if (section == "train") (void)train::TrainConfig::from_json(one, section);
    else (void)distill::KDConfig::from_json(one, section);
  } catch (const Error& e) {
    throw Error(str_cat("--", o.option, v.is_boolean() ? "" : " " + shown(v), ": ", e.what()));
  }
}

void apply_section_options(const cxxopts::ParseResult& r, nlohmann::json& preset, const std::vector<SectionOption>& table) {
  for (const auto& o : table) {
    if (!r.count(o.option)) continue;
    const nlohmann::json v = o.value(r, o.option);
    check_option_value(o, v);
    auto& section = preset[o.section];
    if (section.is_null()) section = nlohmann::json::object();
    section[o.key] = v;
  }
}

const std::vector<SectionOption>& train_options() {
  static const std::vector<SectionOption> table = {
      {"model", "model", "name", as<std::string>},         {"hidden", "model", "hidden", as<int64_t>},
      {"epochs", "train", "epochs", as<int64_t>},          {"batch", "train", "batch_size", as<int64_t>},
      {"lr", "train", "lr", as<double>},                   {"weight-decay", "train", "weight_decay", as<double>},
      {"adamw", "train", "adamw", flag},                   {"grad-clip", "train", "grad_clip", as<double>},
      {"schedule", "train", "schedule", as<std::string>},  {"patience", "train", "patience", as<int64_t>},
      {"seed", "train", "seed", as<uint64_t>},             {"cuda-graph", "train", "cuda_graph", flag},
      {"train-trajectories", "train", "trajectories", as<int64_t>}, {"sync-bn", "train", "sync_batchnorm", flag},
      {"bucket-kb", "train", "bucket_kb", as<int64_t>}};
  return table;
}

}  // namespace

void apply_train_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  SDKD_CHECK(!r.count("cuda-graph") || compute_device().is_cuda(),
             "--cuda-graph captures CUDA work: it needs --device cuda (the run would compute on the CPU)");
  apply_section_options(r, preset, train_options());
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
    ("lambda", "weight of the feature KD term", number_value<double>())
    ("beta", "weight of an added output KD term", number_value<double>())
    ("alpha", "sdkd: weight of the low band", number_value<double>())
    ("cutoffs", "sdkd: band cutoffs in normalised wavenumber, e.g. 0.25 or 0.2,0.5", cxxopts::value<std::string>())
    ("adaptive", "sdkd: spectrally adaptive band weights")
    ("gamma", "sdkd: exponent of the adaptive weights", number_value<double>())
    ("bands", "sdkd: fixed (the cutoffs) or equal_energy (as many bands, of equal teacher energy per tap)",
     cxxopts::value<std::string>())
    ("taps", "feature taps to align, e.g. latent or encoder,latent", cxxopts::value<std::string>())
    ("adapter", "student (a trained conv to the teacher's channels) or teacher (a fixed projection of the teacher's features)",
     cxxopts::value<std::string>())
    ("adapter-kernel", "student-side adapter: 1 or 3", number_value<int64_t>())
    ("feature-norm", "standardise both features per sample before comparing them")
    ("hint-epochs", "first epochs on the feature terms alone (hint stage)", number_value<int64_t>())
    ("lambda-schedule", "constant, linear_up, linear_down or cosine_down", cxxopts::value<std::string>())
    ("weighting", "several teachers: aver or aekd", cxxopts::value<std::string>());
}

namespace {
nlohmann::json cutoffs(const cxxopts::ParseResult& r, const char* option) {
  return parse_doubles(r[option].as<std::string>(), option);
}
nlohmann::json names(const cxxopts::ParseResult& r, const char* option) {
  return parse_names(r[option].as<std::string>());
}
const std::vector<SectionOption>& kd_options() {
  static const std::vector<SectionOption> table = {
      {"kd", "kd", "method", as<std::string>}, {"lambda", "kd", "lambda", as<double>},
      {"beta", "kd", "beta", as<double>},      {"alpha", "kd", "alpha", as<double>},
      {"cutoffs", "kd", "cutoffs", cutoffs},   {"adaptive", "kd", "adaptive", flag},
      {"gamma", "kd", "gamma", as<double>},    {"taps", "kd", "taps", names},
      {"weighting", "kd", "weighting", as<std::string>}, {"bands", "kd", "bands", as<std::string>},
      {"adapter", "kd", "adapter", as<std::string>},     {"adapter-kernel", "kd", "adapter_kernel", as<int64_t>},
      {"feature-norm", "kd", "feature_norm", flag},      {"hint-epochs", "kd", "hint_epochs", as<int64_t>},
      {"lambda-schedule", "kd", "lambda_schedule", as<std::string>}};
  return table;
}
}  // namespace

void apply_kd_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset) {
  apply_section_options(r, preset, kd_options());
  // With the preset's own keys: e.g. band_weights must still fit the number of --cutoffs.
  (void)distill::KDConfig::from_json(models::json_section(preset, "preset:", "kd"), "kd (preset and options)");
}

}  // namespace sdkd::tools
