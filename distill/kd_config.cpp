#include "sdkd/distill/kd_config.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::distill {

namespace {

// Each enum's names, in the order its error message lists them: one table both ways.
constexpr std::pair<KDMethod, const char*> kMethodNames[] = {
    {KDMethod::none, "none"}, {KDMethod::sdkd, "sdkd"}, {KDMethod::feature, "feature"},
    {KDMethod::ab, "ab"},     {KDMethod::output, "output"}};
constexpr std::pair<TeacherWeighting, const char*> kWeightingNames[] = {{TeacherWeighting::aver, "aver"},
                                                                          {TeacherWeighting::aekd, "aekd"}};
constexpr std::pair<LambdaSchedule, const char*> kScheduleNames[] = {{LambdaSchedule::constant, "constant"},
                                                                       {LambdaSchedule::linear_up, "linear_up"},
                                                                       {LambdaSchedule::linear_down, "linear_down"},
                                                                       {LambdaSchedule::cosine_down, "cosine_down"}};
constexpr std::pair<AdapterSide, const char*> kSideNames[] = {{AdapterSide::student, "student"},
                                                                {AdapterSide::teacher, "teacher"}};

template <class E, size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return table[0].second;
}

template <class E, size_t N>
E parse_name(const std::pair<E, const char*> (&table)[N], const std::string& name, const std::string& what,
             const char* last_separator) {
  std::string expected;
  for (size_t i = 0; i < N; ++i) {
    if (name == table[i].second) return table[i].first;
    expected += (i == 0 ? "" : i + 1 == N ? last_separator : ", ") + std::string(table[i].second);
  }
  throw Error(str_cat(what, " '", name, "' is unknown (expected ", expected, ")"));
}

// The bands the cutoffs make must all hold bins: rho reaches sqrt(2) only at the corners of
// the spectrum, so a cutoff at or above it leaves its upper band empty (and K - 1 bands).
void check_bands(const SpectralKDOptions& s, const std::string& where) {
  const double rho_max = std::sqrt(2.0);
  for (size_t i = 0; i < s.cutoffs.size(); ++i) {
    const double c = s.cutoffs[i];
    SDKD_CHECK(c < rho_max, models::field_name(where, "cutoffs"), "[", i, "] must be below sqrt(2) = 1.41421 (the largest ",
               "normalised wavenumber, at the spectrum's corners; 1 is the Nyquist frequency), got ", c,
               ": the band above it would be empty");
    SDKD_CHECK(i == 0 || c > s.cutoffs[i - 1], models::field_name(where, "cutoffs"),
               " must be strictly increasing, got ", s.cutoffs[i - 1], " then ", c);
  }
  SDKD_CHECK(s.band_weights.empty() || s.band_weights.size() == s.cutoffs.size() + 1,
             models::field_name(where, "band_weights"), " must give one weight per band: ", s.cutoffs.size() + 1,
             " for ", s.cutoffs.size(), " cutoff(s), got ", s.band_weights.size());
}

}  // namespace

KDMethod parse_kd_method(const std::string& name) { return parse_name(kMethodNames, name, "kd method", ", "); }
const char* kd_method_name(KDMethod m) { return name_of(kMethodNames, m); }

TeacherWeighting parse_teacher_weighting(const std::string& name) {
  return parse_name(kWeightingNames, name, "kd weighting", " or ");
}
const char* teacher_weighting_name(TeacherWeighting w) { return name_of(kWeightingNames, w); }

LambdaSchedule parse_lambda_schedule(const std::string& name) {
  return parse_name(kScheduleNames, name, "kd lambda_schedule", " or ");
}
const char* lambda_schedule_name(LambdaSchedule s) { return name_of(kScheduleNames, s); }

bool uses_features(KDMethod m) { return m == KDMethod::sdkd || m == KDMethod::feature || m == KDMethod::ab; }

KDConfig KDConfig::from_json(const nlohmann::json& j, const std::string& where) {
  using models::json_number;
  KDConfig c;
  std::string method = kd_method_name(c.method), weighting = teacher_weighting_name(c.weighting);
  // Ranges here are types and signs; the bands and the combinations are checked below.
  for (const auto& [k, v] : models::json_object(j, where).items()) {
    if (k == "method") method = models::json_string(v, where, k);
    else if (k == "lambda") c.lambda = json_number(v, where, k);
    else if (k == "beta") c.beta = json_number(v, where, k);
    else if (k == "cutoffs") c.spectral.cutoffs = models::json_numbers(v, where, k, {0, true});
    else if (k == "alpha") c.spectral.alpha = json_number(v, where, k);
    else if (k == "band_weights") c.spectral.band_weights = models::json_numbers(v, where, k);
    else if (k == "adaptive") c.spectral.adaptive = models::json_bool(v, where, k);
    else if (k == "gamma") c.spectral.gamma = json_number(v, where, k, models::kAnyFinite);
    else if (k == "bands") {
      const std::string b = models::json_string(v, where, k);
      SDKD_CHECK(b == "fixed" || b == "equal_energy", models::field_name(where, k),
                 " must be \"fixed\" or \"equal_energy\", got '", b, "'");
      c.equal_energy_bands = b == "equal_energy";
    } else if (k == "taps") c.taps = models::json_strings(v, where, k);
    else if (k == "adapter")
      c.adapter = parse_name(kSideNames, models::json_string(v, where, k), models::field_name(where, k), " or ");
    else if (k == "adapter_kernel") {
      c.adapter_kernel = int(models::json_int(v, where, k, 1, 3));
      SDKD_CHECK(c.adapter_kernel != 2, models::field_name(where, k), " must be 1 or 3, got 2");
    } else if (k == "feature_norm") c.feature_norm = models::json_bool(v, where, k);
    else if (k == "hint_epochs") c.hint_epochs = models::json_int(v, where, k, 0, train::kMaxEpochs);
    else if (k == "lambda_schedule") c.lambda_schedule = parse_lambda_schedule(models::json_string(v, where, k));
    else if (k == "weighting") weighting = models::json_string(v, where, k);
    else if (k == "aekd_c") c.aekd_c = json_number(v, where, k, {0, true});
    else if (k == "ab_margin") c.ab_margin = json_number(v, where, k);
    else throw Error(str_cat(where, ": unknown key '", k, "' (known: method, lambda, beta, cutoffs, alpha, ",
                             "band_weights, adaptive, gamma, bands, taps, adapter, adapter_kernel, feature_norm, ",
                             "hint_epochs, lambda_schedule, weighting, aekd_c, ab_margin)"));
  }
  check_bands(c.spectral, where);
  c.method = parse_kd_method(method);
  c.weighting = parse_teacher_weighting(weighting);
  SDKD_CHECK(!uses_features(c.method) || !c.taps.empty(), "kd method '", method, "' needs at least one tap");
  return c;
}

nlohmann::json KDConfig::to_json() const {
  return {{"method", kd_method_name(method)},
          {"lambda", lambda},
          {"beta", beta},
          {"cutoffs", spectral.cutoffs},
          {"alpha", spectral.alpha},
          {"band_weights", spectral.band_weights},
          {"adaptive", spectral.adaptive},
          {"gamma", spectral.gamma},
          {"bands", equal_energy_bands ? "equal_energy" : "fixed"},
          {"taps", taps},
          {"adapter", name_of(kSideNames, adapter)},
          {"adapter_kernel", adapter_kernel},
          {"feature_norm", feature_norm},
          {"hint_epochs", hint_epochs},
          {"lambda_schedule", lambda_schedule_name(lambda_schedule)},
          {"weighting", teacher_weighting_name(weighting)},
          {"aekd_c", aekd_c},
          {"ab_margin", ab_margin}};
}

std::string levers_note(const KDConfig& c) {
  std::string s;
  if (c.beta > 0) s += str_cat(", beta ", c.beta);
  if (c.adapter == AdapterSide::teacher) s += ", teacher-side projection";
  else if (c.adapter_kernel != 3) s += str_cat(", ", c.adapter_kernel, "x", c.adapter_kernel, " adapter");
  if (c.feature_norm) s += ", features standardised";
  if (c.hint_epochs > 0 && uses_features(c.method)) s += str_cat(", hint stage ", c.hint_epochs, " epoch", c.hint_epochs == 1 ? "" : "s");
  if (c.lambda_schedule != LambdaSchedule::constant) s += str_cat(", lambda ", lambda_schedule_name(c.lambda_schedule));
  return s;
}

bool in_hint_stage(const KDConfig& cfg, int64_t epoch) { return uses_features(cfg.method) && epoch < cfg.hint_epochs; }

double kd_weight_factor(const KDConfig& cfg, int64_t epoch, int64_t epochs) {
  if (in_hint_stage(cfg, epoch)) return 1.0;
  const double n = double(std::max<int64_t>(epochs - cfg.hint_epochs, 1));
  const double i = double(epoch - cfg.hint_epochs);
  switch (cfg.lambda_schedule) {
    case LambdaSchedule::constant: return 1.0;
    case LambdaSchedule::linear_up: return std::min(1.0, (i + 1) / n);
    case LambdaSchedule::linear_down: return std::max(0.0, 1.0 - i / n);
    case LambdaSchedule::cosine_down: return 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(1.0, i / n)));
  }
  return 1.0;
}

}  // namespace sdkd::distill
