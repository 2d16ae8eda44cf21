#include "distill/distiller.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "distill/kd_losses.hpp"
#include "distill/multi_teacher.hpp"
#include "models/config_json.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"

namespace sdkd::distill {

namespace {

// Each enum's names, in the order its error message lists them: one table both ways.
constexpr std::pair<KDMethod, const char*> kMethodNames[] = {
    {KDMethod::none, "none"}, {KDMethod::sdkd, "sdkd"}, {KDMethod::feature, "feature"},
    {KDMethod::ab, "ab"},     {KDMethod::output, "output"}};
constexpr std::pair<TeacherWeighting, const char*> kWeightingNames[] = {{TeacherWeighting::aver, "aver"},
                                                                          {TeacherWeighting::aekd, "aekd"}};

template <class E, size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return table[0].second;
}

template <class E, size_t N>
E parse_name(const std::pair<E, const char*> (&table)[N], const std::string& name, const char* what,
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

bool uses_features(KDMethod m) { return m == KDMethod::sdkd || m == KDMethod::feature || m == KDMethod::ab; }

KDConfig KDConfig::from_json(const nlohmann::json& j, const std::string& where) {
  using models::json_number;
  KDConfig c;
  std::string method = kd_method_name(c.method), weighting = teacher_weighting_name(c.weighting);
  // Ranges here are types and signs; the bands are checked as a whole below.
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
    else if (k == "weighting") weighting = models::json_string(v, where, k);
    else if (k == "aekd_c") c.aekd_c = json_number(v, where, k, {0, true});
    else if (k == "ab_margin") c.ab_margin = json_number(v, where, k);
    else throw Error(str_cat(where, ": unknown key '", k, "' (known: method, lambda, beta, cutoffs, alpha, ",
                             "band_weights, adaptive, gamma, bands, taps, weighting, aekd_c, ab_margin)"));
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
          {"weighting", teacher_weighting_name(weighting)},
          {"aekd_c", aekd_c},
          {"ab_margin", ab_margin}};
}

Distiller::Distiller(KDConfig cfg, models::Forecaster& student, std::vector<TeacherModel> teachers, Generator& gen)
    : cfg_(std::move(cfg)), teachers_(std::move(teachers)) {
  SDKD_CHECK(cfg_.method == KDMethod::none || !teachers_.empty(), "kd method '", kd_method_name(cfg_.method),
             "' needs at least one teacher");
  adapters_.resize(teachers_.size());
  cache_.resize(teachers_.size());
  spectral_.resize(teachers_.size());
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
      adapters_[m][tap] = register_module(teachers_[m].name + "." + tap,
                                          std::make_shared<models::FeatureAdapter>(sf.size(1), tf.size(1), gen));
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
      for (size_t i = 0; i < missing.size(); ++i) {
        Cached c;
        c.pred = t_out.pred.select(0, int64_t(i)).contiguous();
        for (const auto& tap : cfg_.taps)
          if (t_out.features.count(tap)) c.features[tap] = t_out.features.at(tap).select(0, int64_t(i)).contiguous();
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

void Distiller::fit_bands(const Tensor& x) {
  if (!cfg_.equal_energy_bands || cfg_.method != KDMethod::sdkd) return;
  NoGradGuard ng;
  const int K = int(cfg_.spectral.cutoffs.size()) + 1;
  for (size_t m = 0; m < teachers_.size(); ++m) {
    const auto t_out = teachers_[m].model->forward(x.to(teachers_[m].model->device()));
    for (const auto& tap : cfg_.taps) try {
        spectral_[m].at(tap).cutoffs = equal_energy_bands(t_out.features.at(tap), K).cutoffs;
      } catch (const Error& e) {
        throw Error(str_cat("kd bands \"equal_energy\", teacher '", teachers_[m].name, "' tap '", tap, "': ", e.what()));
      }
  }
  bands_fitted_ = true;
}

const std::vector<double>& Distiller::cutoffs(size_t m, const std::string& tap) const {
  return spectral_.at(m).at(tap).cutoffs;
}

Tensor Distiller::kd_term(size_t m, const std::map<std::string, Tensor>& student_feats, const Tensor& student_pred,
                          const Cached& teacher, double* spectral_low) {
  Tensor total;
  auto acc = [&](const Tensor& t) { total = total.defined() ? add(total, t) : t; };
  if (uses_features(cfg_.method)) {
    for (const auto& tap : cfg_.taps) {
      const Tensor s = adapters_[m].at(tap)->forward(student_feats.at(tap));
      const Tensor& t = teacher.features.at(tap);
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
      acc(mul_scalar(term, cfg_.lambda));
    }
  }
  const double beta = cfg_.method == KDMethod::output && cfg_.beta == 0 ? 1.0 : cfg_.beta;
  if (beta > 0) acc(mul_scalar(output_kd_loss(student_pred, teacher.pred), beta));
  return total;
}

train::LossParts Distiller::loss(const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                                 const std::vector<train::Window>& windows) {
  const Tensor mse = mse_loss(out.pred, y);
  if (cfg_.method == KDMethod::none || teachers_.empty()) return {mse, {{"mse", mse.item()}}};
  SDKD_CHECK(!cfg_.equal_energy_bands || cfg_.method != KDMethod::sdkd || bands_fitted_,
             "distiller: kd bands \"equal_energy\" need fit_bands on training windows before the first loss");
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
    w = aekd_weights(gram_matrix(grads), cfg_.aekd_c);
  }
  last_weights_ = w;
  Tensor kd;
  double low = 0;
  for (size_t m = 0; m < M; ++m) {
    const Tensor term = mul_scalar(kd_term(m, out.features, out.pred, teach[m], &low), w[m]);
    kd = kd.defined() ? add(kd, term) : term;
  }
  train::LossParts parts{add(mse, kd), {{"mse", mse.item()}, {"kd", kd.item()}}};
  if (cfg_.method == KDMethod::sdkd) parts.parts.emplace_back("kd_low", low / double(M));
  if (M > 1)  // the teacher weights of this batch (AEKD changes them every batch)
    for (size_t m = 0; m < M; ++m) parts.parts.emplace_back("w_" + teachers_[m].name, w[m]);
  return parts;
}

train::TrainHooks Distiller::hooks() {
  train::TrainHooks h;
  h.loss = [this](const Tensor& x, const Tensor& y, const models::ModelOutput& out,
                  const std::vector<train::Window>& windows) { return loss(x, y, out, windows); };
  h.extra = this;
  return h;
}

}  // namespace sdkd::distill
