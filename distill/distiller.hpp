#pragma once
// Distillation of a student from frozen teachers (SPEC §3):
//   L = MSE(G(X), Y) + lambda * sum_m a_m * L_KD,m  [+ beta * MSE(G(X), F_m(X)) inside L_KD,m]
// where L_KD,m compares the student's tapped features, mapped by a conv adapter per
// (teacher, tap) (or the teacher's features projected onto the student's channels), with
// teacher m's features of the same name (distill/kd_config.hpp: the options). In a hint stage
// L = lambda * sum_m a_m * (feature terms) alone; a lambda schedule scales lambda per epoch. Methods: "sdkd" (band-split
// spectral loss), "feature" (spatial MSE, FitNets), "ab" (activation boundaries), "output"
// (only the output term), "none". Teacher weights a_m: "aver" (1/M) or "aekd" (per batch, the
// constrained QP on the gradients of each teacher's loss w.r.t. the student's features).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/distill/kd_config.hpp"
#include "sdkd/distill/teacher_projection.hpp"
#include "sdkd/models/adapter.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::distill {

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
  // What is fitted to the teachers before training, on their features on x (the same x gives
  // the same fit, so a resumed run fits what it started with): teacher-side projections,
  // then equal-energy bands on the features as the loss compares them. The loss refuses to
  // run before this when the config needs it (needs_fit).
  bool needs_fit() const;
  void fit(const Tensor& x);
  // The cutoffs the loss uses for teacher m's tap.
  const std::vector<double>& cutoffs(size_t m, const std::string& tap) const;
  // The teacher-side projection of teacher m's tap (adapter "teacher", after fit), its weight
  // on the teacher's device.
  const TeacherProjection& projection(size_t m, const std::string& tap) const;
  // The epoch the next losses belong to (the trainer's TrainHooks::begin_epoch): it decides
  // the hint stage and the lambda schedule. Before any call: epoch 0 of 1.
  void begin_epoch(int64_t epoch, int64_t epochs);
  // lambda as the current epoch weights the feature terms.
  double current_lambda() const;
  // Teacher weights used for the last batch (for logging).
  const std::vector<double>& last_weights() const { return last_weights_; }

 private:
  struct Cached {
    Tensor pred;
    std::map<std::string, Tensor> features;  // through teacher_side: as the loss compares them
  };
  // Teacher outputs for the batch's windows, computed once per window (teachers are frozen and
  // in eval mode, so their outputs never change).
  std::vector<Cached> teacher_batch(const Tensor& x, const std::vector<train::Window>& windows);
  Tensor kd_term(size_t m, const std::map<std::string, Tensor>& student_feats, const Tensor& student_pred,
                 const Cached& teacher, double* spectral_low = nullptr);
  // Teacher m's tap as the loss compares it: projected (adapter "teacher"), standardised
  // (feature_norm); and the student's, through its adapter and standardised.
  Tensor teacher_side(size_t m, const std::string& tap, const Tensor& t) const;
  Tensor student_side(size_t m, const std::string& tap, const Tensor& s) const;

  KDConfig cfg_;
  std::vector<TeacherModel> teachers_;
  std::vector<std::map<std::string, std::shared_ptr<models::FeatureAdapter>>> adapters_;  // [teacher][tap]
  std::vector<std::map<train::Window, Cached>> cache_;                                     // [teacher][window]
  std::vector<double> last_weights_;
  std::vector<std::map<std::string, SpectralKDOptions>> spectral_;  // [teacher][tap]: cfg_.spectral, or fitted bands
  std::vector<std::map<std::string, TeacherProjection>> projections_;  // [teacher][tap], adapter "teacher"
  std::map<std::string, int64_t> student_channels_;  // [tap]
  bool fitted_ = false;
  int64_t epoch_ = 0, epochs_ = 1;
};

}  // namespace sdkd::distill
