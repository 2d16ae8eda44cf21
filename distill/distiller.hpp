#pragma once
// Distillation of a student from frozen teachers (SPEC §3):
//   L = MSE(G(X), Y) + lambda * sum_m a_m * L_KD,m  [+ beta * MSE(G(X), F_m(X)) inside L_KD,m]
// where L_KD,m compares the student's tapped features, mapped by a 3x3 conv adapter per
// (teacher, tap), with teacher m's features of the same name. Methods: "sdkd" (band-split
// spectral loss), "feature" (spatial MSE, FitNets), "ab" (activation boundaries), "output"
// (only the output term), "none". Teacher weights a_m: "aver" (1/M) or "aekd" (per batch, the
// constrained QP on the gradients of each teacher's loss w.r.t. the student's features).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/spectral_loss.hpp"
#include "models/adapter.hpp"
#include "models/forecaster.hpp"
#include "train/trainer.hpp"

namespace sdkd::distill {

// The KD methods and teacher weightings above; config files and the command line name them
// ("none", "output", ...), parsed once when the config is read.
enum class KDMethod { none, output, feature, sdkd, ab };
enum class TeacherWeighting { aver, aekd };

// Throw sdkd::Error naming the valid names for an unknown name.
KDMethod parse_kd_method(const std::string& name);
TeacherWeighting parse_teacher_weighting(const std::string& name);
const char* kd_method_name(KDMethod m);
const char* teacher_weighting_name(TeacherWeighting w);
// sdkd, feature and ab compare adapted feature taps; none and output do not.
bool uses_features(KDMethod m);

struct KDConfig {
  KDMethod method = KDMethod::none;
  double lambda = 1.0;                   // weight of the feature term
  double beta = 0.0;                     // output KD weight (added to any method; "output" uses 1 if 0)
  SpectralKDOptions spectral;            // cutoffs, alpha, band_weights, adaptive, gamma
  // "bands": "fixed" (the cutoffs as given) or "equal_energy": per (teacher, tap) K =
  // cutoffs.size() + 1 bands of equal teacher energy (sdkd/spectral_loss.hpp), fitted once on
  // a batch of training windows (Distiller::fit_bands) before training.
  bool equal_energy_bands = false;
  std::vector<std::string> taps{"latent"};
  TeacherWeighting weighting = TeacherWeighting::aver;
  double aekd_c = 0.6;
  double ab_margin = 1.0;

  // Every key type- and range-checked; errors name models::field_name(where, key).
  static KDConfig from_json(const nlohmann::json& j, const std::string& where = "kd");
  nlohmann::json to_json() const;
};

struct TeacherModel {
  std::string name;
  std::shared_ptr<models::Forecaster> model;
};

// Owns the adapters (as child modules "<teacher>.<tap>") and the teachers' cached outputs.
class Distiller : public nn::Module {
 public:
  Distiller(KDConfig cfg, models::Forecaster& student, std::vector<TeacherModel> teachers, Generator& gen);

  // The batch loss for train::TrainHooks.
  train::LossParts loss(const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                        const std::vector<train::Window>& windows);
  train::TrainHooks hooks();

  const KDConfig& config() const { return cfg_; }
  // Equal-energy bands: each (teacher, tap)'s cutoffs from the teacher's features on x (the
  // same x gives the same bands, so a resumed run fits the bands it started with). The loss
  // refuses to run with equal_energy_bands before this.
  void fit_bands(const Tensor& x);
  // The cutoffs the loss uses for teacher m's tap.
  const std::vector<double>& cutoffs(size_t m, const std::string& tap) const;
  // Teacher weights used for the last batch (for logging).
  const std::vector<double>& last_weights() const { return last_weights_; }

 private:
  struct Cached {
    Tensor pred;
    std::map<std::string, Tensor> features;
  };
  // Teacher outputs for the batch's windows, computed once per window (teachers are frozen and
  // in eval mode, so their outputs never change).
  std::vector<Cached> teacher_batch(const Tensor& x, const std::vector<train::Window>& windows);
  Tensor kd_term(size_t m, const std::map<std::string, Tensor>& student_feats, const Tensor& student_pred,
                 const Cached& teacher, double* spectral_low = nullptr);

  KDConfig cfg_;
  std::vector<TeacherModel> teachers_;
  std::vector<std::map<std::string, std::shared_ptr<models::FeatureAdapter>>> adapters_;  // [teacher][tap]
  std::vector<std::map<train::Window, Cached>> cache_;                                     // [teacher][window]
  std::vector<double> last_weights_;
  std::vector<std::map<std::string, SpectralKDOptions>> spectral_;  // [teacher][tap]: cfg_.spectral, or fitted bands
  bool bands_fitted_ = false;
};

}  // namespace sdkd::distill
