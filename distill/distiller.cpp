#include "sdkd/distill/distiller.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/distill/multi_teacher.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"

namespace sdkd::distill {

Distiller::Distiller(KDConfig cfg, models::Forecaster& student, std::vector<TeacherModel> teachers, Generator& gen)
    : cfg_(std::move(cfg)), teachers_(std::move(teachers)) {
  SDKD_CHECK(cfg_.method == KDMethod::none || !teachers_.empty(), "kd method '", kd_method_name(cfg_.method),
             "' needs at least one teacher");
  adapters_.resize(teachers_.size());
  cache_.resize(teachers_.size());
  spectral_.resize(teachers_.size());
  projections_.resize(teachers_.size());
  // Probe one zero sample to learn every tap's channels and size (shapes are validated here,
  // before any training time is spent).
  const auto& sc = student.config();
  const Tensor probe = Tensor::zeros({1, sc.in_frames, sc.channels, sc.height, sc.width}, DType::f32, student.device());
  models::ModelOutput s_out;
  {
    NoGradGuard ng;
    const bool was_training = student.training();
    student.eval();
    s_out = student.forward(probe);
    student.train(was_training);
  }
  for (size_t m = 0; m < teachers_.size(); ++m) {
    auto& t = *teachers_[m].model;
    const auto& tc = t.config();
    SDKD_CHECK(tc.in_frames == sc.in_frames && tc.out_frames == sc.out_frames && tc.channels == sc.channels &&
                   tc.height == sc.height && tc.width == sc.width,
               "teacher '", teachers_[m].name, "' maps (", tc.in_frames, ", ", tc.channels, ", ", tc.height, ", ",
               tc.width, ") but the student maps (", sc.in_frames, ", ", sc.channels, ", ", sc.height, ", ", sc.width,
               ")");
    // The teacher's outputs and features are compared with the student's as they are, so both
    // must see the data on one scale.
    SDKD_CHECK(t.normalization().matches(student.normalization()), "teacher '", teachers_[m].name,
               "' was trained with data normalisation ", t.normalization().describe(), " but the student uses ",
               student.normalization().describe(), "; train the student with the teacher's --normalize on the same data");
    t.eval();
    for (auto& p : t.parameters()) p.set_requires_grad(false);
    if (!uses_features(cfg_.method)) continue;
    models::ModelOutput t_out;
    {
      NoGradGuard ng;
      t_out = t.forward(probe);
    }
    for (const auto& tap : cfg_.taps) {
      SDKD_CHECK(s_out.features.count(tap), "the student (", sc.name, ") has no feature tap '", tap, "'");
      SDKD_CHECK(t_out.features.count(tap), "teacher '", teachers_[m].name, "' (", tc.name, ") has no feature tap '",
                 tap, "'");
      const Tensor& sf = s_out.features.at(tap);
      const Tensor& tf = t_out.features.at(tap);
      SDKD_CHECK(sf.size(2) == tf.size(2) && sf.size(3) == tf.size(3), "tap '", tap, "': student feature ",
                 shape_str(sf.shape()), " and teacher feature ", shape_str(tf.shape()), " differ in H, W");
      spectral_[m][tap] = cfg_.spectral;
      student_channels_[tap] = sf.size(1);
      if (cfg_.adapter == AdapterSide::teacher) {
        SDKD_CHECK(sf.size(1) <= tf.size(1), "kd adapter \"teacher\": tap '", tap, "' of the student has ", sf.size(1),
                   " channels, more than teacher '", teachers_[m].name, "''s ", tf.size(1),
                   "; a projection of the teacher's features cannot reach them (use kd.adapter \"student\")");
        projections_[m][tap] = {};
      } else {
        adapters_[m][tap] = register_module(
            teachers_[m].name + "." + tap,
            std::make_shared<models::FeatureAdapter>(sf.size(1), tf.size(1), gen, cfg_.adapter_kernel));
      }
    }
  }
}

std::vector<Distiller::Cached> Distiller::teacher_batch(const Tensor& x, const std::vector<train::Window>& windows) {
  SDKD_CHECK(int64_t(windows.size()) == x.size(0), "distiller: ", windows.size(), " window ids for a batch of ",
             x.size(0));
  std::vector<Cached> out(teachers_.size());
  NoGradGuard ng;
  for (size_t m = 0; m < teachers_.size(); ++m) {
    auto& cache = cache_[m];
    std::vector<int64_t> missing;
    for (size_t b = 0; b < windows.size(); ++b)
      if (!cache.count(windows[b])) missing.push_back(int64_t(b));
    if (!missing.empty()) {
      std::vector<Tensor> xs;
      for (auto b : missing) xs.push_back(x.select(0, b));
      const auto t_out = teachers_[m].model->forward(stack(xs, 0));
      // Checked once per window (outputs are cached): a NaN teacher would otherwise surface as
      // the student's non-finite loss, with the student blamed.
      bool finite = all_finite(t_out.pred);
      for (const auto& tap : cfg_.taps)
        if (finite && t_out.features.count(tap)) finite = all_finite(t_out.features.at(tap));
      SDKD_CHECK(finite, "teacher '", teachers_[m].name, "' (", teachers_[m].model->config().name,
                 ") produced non-finite outputs or features on a batch with trajectory ",
                 windows[size_t(missing.front())].first, " (start frame ", windows[size_t(missing.front())].second,
                 "): the teacher is the cause; check its checkpoint and the data's scale (--normalize)");
      // The taps as the loss compares them (projected, standardised): fixed once fitted, so
      // computed once per window here rather than on every batch.
      std::map<std::string, Tensor> compared;
      for (const auto& tap : cfg_.taps)
        if (t_out.features.count(tap))
          compared[tap] = uses_features(cfg_.method) ? teacher_side(m, tap, t_out.features.at(tap)) : t_out.features.at(tap);
      for (size_t i = 0; i < missing.size(); ++i) {
        Cached c;
        c.pred = t_out.pred.select(0, int64_t(i)).contiguous();
        for (const auto& [tap, f] : compared) c.features[tap] = f.select(0, int64_t(i)).contiguous();
        cache[windows[size_t(missing[i])]] = std::move(c);
      }
    }
    std::vector<Tensor> preds;
    std::map<std::string, std::vector<Tensor>> feats;
    for (const auto& w : windows) {
      const Cached& c = cache.at(w);
      preds.push_back(c.pred);
      for (const auto& [tap, f] : c.features) feats[tap].push_back(f);
    }
    out[m].pred = stack(preds, 0);
    for (auto& [tap, fs] : feats) out[m].features[tap] = stack(fs, 0);
  }
  return out;
}

bool Distiller::needs_fit() const {
  return uses_features(cfg_.method) &&
         ((cfg_.equal_energy_bands && cfg_.method == KDMethod::sdkd) || cfg_.adapter == AdapterSide::teacher);
}

void Distiller::fit(const Tensor& x) {
  if (!needs_fit()) return;
  NoGradGuard ng;
  const int K = int(cfg_.spectral.cutoffs.size()) + 1;
  for (size_t m = 0; m < teachers_.size(); ++m) {
    const auto t_out = teachers_[m].model->forward(x.to(teachers_[m].model->device()));
    for (const auto& tap : cfg_.taps) {
      const Tensor& f = t_out.features.at(tap);
      const std::string what = str_cat("teacher '", teachers_[m].name, "' tap '", tap, "': ");
      if (cfg_.adapter == AdapterSide::teacher) try {
          auto p = fit_teacher_projection(f, student_channels_.at(tap));
          p.weight = p.weight.to(f.device());  // applied where the teacher's features live
          projections_[m][tap] = std::move(p);
        } catch (const Error& e) {
          throw Error(str_cat("kd adapter \"teacher\", ", what, e.what()));
        }
      if (cfg_.equal_energy_bands && cfg_.method == KDMethod::sdkd) try {
          // The spectrum the loss sees: after the projection and the standardisation.
          spectral_[m].at(tap).cutoffs = equal_energy_bands(teacher_side(m, tap, f), K).cutoffs;
        } catch (const Error& e) {
          throw Error(str_cat("kd bands \"equal_energy\", ", what, e.what()));
        }
    }
  }
  fitted_ = true;
}

const std::vector<double>& Distiller::cutoffs(size_t m, const std::string& tap) const {
  return spectral_.at(m).at(tap).cutoffs;
}

const TeacherProjection& Distiller::projection(size_t m, const std::string& tap) const {
  SDKD_CHECK(cfg_.adapter == AdapterSide::teacher, "distiller: no teacher-side projection with kd adapter \"student\"");
  SDKD_CHECK(fitted_, "distiller: the teacher-side projection is fitted by fit(), which has not run yet");
  return projections_.at(m).at(tap);
}

void Distiller::begin_epoch(int64_t epoch, int64_t epochs) {
  SDKD_CHECK(epoch >= 0 && epochs >= 1 && epoch < epochs, "distiller: epoch ", epoch, " of ", epochs, " is out of range");
  epoch_ = epoch;
  epochs_ = epochs;
}

double Distiller::current_lambda() const { return cfg_.lambda * kd_weight_factor(cfg_, epoch_, epochs_); }

Tensor Distiller::teacher_side(size_t m, const std::string& tap, const Tensor& t) const {
  Tensor out = t;
  if (cfg_.adapter == AdapterSide::teacher) {
    out = conv2d(out, projections_.at(m).at(tap).weight, Tensor(), Conv2dOptions{});
  }
  return cfg_.feature_norm ? group_norm(out, 1, Tensor(), Tensor()) : out;
}

Tensor Distiller::student_side(size_t m, const std::string& tap, const Tensor& s) const {
  const auto it = adapters_.at(m).find(tap);
  const Tensor out = it != adapters_.at(m).end() ? it->second->forward(s) : s;
  return cfg_.feature_norm ? group_norm(out, 1, Tensor(), Tensor()) : out;
}

Tensor Distiller::kd_term(size_t m, const std::map<std::string, Tensor>& student_feats, const Tensor& student_pred,
                          const Cached& teacher, double* spectral_low) {
  Tensor total;
  auto acc = [&](const Tensor& t) { total = total.defined() ? add(total, t) : t; };
  if (uses_features(cfg_.method)) {
    for (const auto& tap : cfg_.taps) {
      const Tensor s = student_side(m, tap, student_feats.at(tap));
      const Tensor& t = teacher.features.at(tap);  // already as compared (teacher_batch)
      Tensor term;
      if (cfg_.method == KDMethod::sdkd) {
        auto r = spectral_kd_loss(s, t, spectral_[m].at(tap));
        term = r.loss;
        if (spectral_low && !r.band_losses.empty()) *spectral_low += r.band_losses.front();
      } else if (cfg_.method == KDMethod::feature) {
        term = feature_mse_loss(s, t);
      } else {
        term = ab_loss(s, t, cfg_.ab_margin);
      }
      acc(mul_scalar(term, current_lambda()));
    }
  }
  // The hint stage aligns the taps alone: no output term.
  if (in_hint_stage(cfg_, epoch_)) return total;
  const double beta = cfg_.method == KDMethod::output && cfg_.beta == 0 ? 1.0 : cfg_.beta;
  if (beta > 0) acc(mul_scalar(output_kd_loss(student_pred, teacher.pred), beta));
  return total;
}

train::LossParts Distiller::loss(const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                                 const std::vector<train::Window>& windows) {
  const Tensor mse = mse_loss(out.pred, y);
  if (cfg_.method == KDMethod::none || teachers_.empty()) return {mse, {{"mse", mse.item()}}};
  SDKD_CHECK(!needs_fit() || fitted_, "distiller: kd ",
             cfg_.adapter == AdapterSide::teacher ? "adapter \"teacher\"" : "bands \"equal_energy\"",
             " needs fit on training windows before the first loss");
  const auto teach = teacher_batch(x, windows);
  const size_t M = teachers_.size();
  std::vector<double> w(M, 1.0 / double(M));
  if (M > 1 && cfg_.weighting == TeacherWeighting::aekd) {
    // g_m = d L_KD,m / d (student features, output): computed on detached copies so the
    // weights themselves carry no gradient, then the QP of SPEC §3 picks the weights.
    std::vector<Tensor> grads;
    for (size_t m = 0; m < M; ++m) {
      std::map<std::string, Tensor> leaf_feats;
      std::vector<Tensor> leaves;
      for (const auto& [tap, f] : out.features) {
        leaf_feats[tap] = f.detach().clone().set_requires_grad(true);
        leaves.push_back(leaf_feats[tap]);
      }
      Tensor pred_leaf = out.pred.detach().clone().set_requires_grad(true);
      leaves.push_back(pred_leaf);
      kd_term(m, leaf_feats, pred_leaf, teach[m]).backward();
      std::vector<Tensor> flat;
      for (auto& l : leaves)
        if (l.grad().defined()) flat.push_back(l.grad().reshape({-1}));
      grads.push_back(cat(flat, 0));
    }
    auto gram = gram_matrix(grads);
    dist::ProcessGroup& group = dist::world();
    if (group.size() > 1) {
      // The gradients of the global batch's loss are, on this rank's samples, this rank's
      // gradients times its share n_r / N: the global Gram matrix is the sum over ranks of
      // share^2 times each rank's, so every rank solves the same QP for the same weights.
      const double n = double(x.size(0)), share = n / group.sum(n);
      std::vector<double> flat;
      for (const auto& row : gram)
        for (double v : row) flat.push_back(v * share * share);
      flat = group.sum(flat);
      for (size_t m = 0; m < M; ++m)
        for (size_t k = 0; k < M; ++k) gram[m][k] = flat[m * M + k];
    }
    w = aekd_weights(gram, cfg_.aekd_c);
  }
  last_weights_ = w;
  Tensor kd;
  double low = 0;
  for (size_t m = 0; m < M; ++m) {
    const Tensor term = mul_scalar(kd_term(m, out.features, out.pred, teach[m], &low), w[m]);
    kd = kd.defined() ? add(kd, term) : term;
  }
  // The hint stage trains on the feature terms alone; the task loss is still reported.
  const bool hint = in_hint_stage(cfg_, epoch_);
  train::LossParts parts{hint ? kd : add(mse, kd), {{"mse", mse.item()}, {"kd", kd.item()}}};
  if (cfg_.method == KDMethod::sdkd) parts.parts.emplace_back("kd_low", low / double(M));
  if (M > 1)  // the teacher weights of this batch (AEKD changes them every batch)
    for (size_t m = 0; m < M; ++m) parts.parts.emplace_back("w_" + teachers_[m].name, w[m]);
  return parts;
}

train::TrainHooks Distiller::hooks() {
  train::TrainHooks h;
  h.loss = [this](const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                  const std::vector<train::Window>& windows) { return loss(x, y, out, windows); };
  h.begin_epoch = [this](int64_t epoch, int64_t epochs) { begin_epoch(epoch, epochs); };
  h.extra = this;
  return h;
}

}  // namespace sdkd::distill
