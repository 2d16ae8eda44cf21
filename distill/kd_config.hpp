#pragma once
// What a distillation run is configured with (the preset's "kd" section, `sdkd distill`'s
// options): the method, its weights, the band layout, the taps, the adapter, the schedule of
// the KD weight and the teacher weighting. Parsed and checked once; the Distiller only reads it.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/spectral_loss.hpp"

namespace sdkd::distill {

// The KD methods and teacher weightings of SPEC §3; config files and the command line name
// them ("none", "output", ...).
enum class KDMethod { none, output, feature, sdkd, ab };
enum class TeacherWeighting { aver, aekd };
// Where the map between the two feature spaces sits: a trained conv on the student's
// features (to the teacher's channels), or a fixed projection of the teacher's features onto
// the student's channels (the directions that keep most of the teacher's feature energy,
// fitted once on training windows: distill/teacher_projection.hpp).
enum class AdapterSide { student, teacher };
// How the KD weight lambda moves over the epochs after the hint stage (kd_weight_factor).
enum class LambdaSchedule { constant, linear_up, linear_down, cosine_down };

// Throw sdkd::Error naming the valid names for an unknown name.
KDMethod parse_kd_method(const std::string& name);
TeacherWeighting parse_teacher_weighting(const std::string& name);
LambdaSchedule parse_lambda_schedule(const std::string& name);
const char* kd_method_name(KDMethod m);
const char* teacher_weighting_name(TeacherWeighting w);
const char* lambda_schedule_name(LambdaSchedule s);
// sdkd, feature and ab compare adapted feature taps; none and output do not.
bool uses_features(KDMethod m);

struct KDConfig {
  KDMethod method = KDMethod::none;
  double lambda = 1.0;                   // weight of the feature term
  double beta = 0.0;                     // output KD weight (added to any method; "output" uses 1 if 0)
  SpectralKDOptions spectral;            // cutoffs, alpha, band_weights, adaptive, gamma
  // "bands": "fixed" (the cutoffs as given) or "equal_energy": per (teacher, tap) K =
  // cutoffs.size() + 1 bands of equal teacher energy (sdkd/spectral_loss.hpp), fitted once on
  // a batch of training windows (Distiller::fit) before training.
  bool equal_energy_bands = false;
  std::vector<std::string> taps{"latent"};
  AdapterSide adapter = AdapterSide::student;  // "adapter": "student" or "teacher"
  int adapter_kernel = 3;                // "adapter_kernel": 1 or 3 (student side only)
  // "feature_norm": both features standardised per sample (zero mean, unit variance over
  // C, H, W) before they are compared, so the loss sees their shape, not their scale.
  bool feature_norm = false;
  // "hint_epochs": the first epochs train on the feature term alone (FitNets' hint stage: the
  // student up to its taps and the adapters), then the task loss (+ KD) as usual. Only methods
  // that align taps have a hint stage (for none and output it changes nothing, as cutoffs do
  // nothing for feature KD), so one study patch serves all its arms.
  int64_t hint_epochs = 0;
  LambdaSchedule lambda_schedule = LambdaSchedule::constant;
  TeacherWeighting weighting = TeacherWeighting::aver;
  double aekd_c = 0.6;
  double ab_margin = 1.0;

  // Every key type- and range-checked; errors name models::field_name(where, key).
  static KDConfig from_json(const nlohmann::json& j, const std::string& where = "kd");
  nlohmann::json to_json() const;
};

// The options set away from their defaults, for a run's log line: ", adapter teacher, hint
// stage 5 epochs, lambda linear_down" ("" when none is).
std::string levers_note(const KDConfig& cfg);

// Whether epoch `epoch` (0-based) is in the hint stage (never for none and output).
bool in_hint_stage(const KDConfig& cfg, int64_t epoch);
// The factor lambda is scaled by in epoch `epoch` (0-based) of `epochs`: 1 in the hint stage
// (where the feature term at weight lambda is the whole loss); after it, over the
// n = epochs - hint_epochs KD epochs with i = epoch - hint_epochs: constant 1,
// linear_up (i + 1) / n, linear_down 1 - i / n, cosine_down (1 + cos(pi i / n)) / 2.
double kd_weight_factor(const KDConfig& cfg, int64_t epoch, int64_t epochs);

}  // namespace sdkd::distill
