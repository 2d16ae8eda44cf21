// The distillation levers of kd_config.hpp: hint stage, lambda schedules, feature
// standardisation, the 1x1 adapter and the teacher-side projection. Each check rebuilds the
// loss from its parts by hand (or from an identity the lever must keep) and compares.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <set>

#include "common/numeric.hpp"
#include "common/toy.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/distill/teacher_projection.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;

namespace {
std::shared_ptr<models::Forecaster> teacher_model(uint64_t seed, int64_t hid_S = 4) {
  models::ModelConfig c = test::toy_config("simvp", {2, 2, 8, 8});
  c.N_T = 1;
  c.hid_S = hid_S;
  return test::toy_model(c, seed);
}

std::vector<train::Window> ids(int64_t n) {
  std::vector<train::Window> w;
  for (int64_t i = 0; i < n; ++i) w.emplace_back(i, 0);
  return w;
}

models::ModelOutput no_grad_forward(models::Forecaster& m, const Tensor& x) {
  NoGradGuard ng;
  return m.forward(x);
}

// The 3x3 adapter a distiller built from `gen` holds, for the student's and teacher's latent taps.
models::FeatureAdapter adapter_for(models::Forecaster& student, const Tensor& x, const models::ModelOutput& t,
                                   Generator& gen) {
  const int64_t cs = no_grad_forward(student, x).features.at("latent").size(1);
  return models::FeatureAdapter(cs, t.features.at("latent").size(1), gen);
}

distill::KDConfig feature_kd(double lambda) {
  distill::KDConfig c;
  c.method = distill::KDMethod::feature;
  c.lambda = lambda;
  return c;
}

// The names of the parameters a loss reaches (a defined, non-zero gradient).
std::set<std::string> reached(models::Forecaster& m, const Tensor& loss) {
  for (auto& [n, p] : m.named_parameters()) p.zero_grad();
  loss.backward();
  std::set<std::string> out;
  for (auto& [n, p] : m.named_parameters()) {
    if (!p.grad().defined()) continue;
    for (double v : p.grad().to_double_vector())
      if (v != 0) {
        out.insert(n);
        break;
      }
  }
  return out;
}

// Per-sample standardisation over (C, H, W) by plain loops, in double (the reference for
// feature_norm, which runs through group_norm with one group).
std::vector<double> standardised(const Tensor& f) {
  const std::vector<double> v = f.to_double_vector();
  const size_t B = size_t(f.size(0)), n = v.size() / B;
  std::vector<double> out(v.size());
  for (size_t b = 0; b < B; ++b) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; ++i) mean += v[b * n + i];
    mean /= double(n);
    for (size_t i = 0; i < n; ++i) var += (v[b * n + i] - mean) * (v[b * n + i] - mean);
    var /= double(n);
    for (size_t i = 0; i < n; ++i) out[b * n + i] = (v[b * n + i] - mean) / std::sqrt(var + 1e-5);
  }
  return out;
}

double mean_sq_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s / double(a.size());
}
}  // namespace

TEST_CASE("hint stage: the feature term alone, the task head untouched, then the loss as without it", "[distiller][levers]") {
  auto student = test::toy_model(test::toy_unet_config(), 1);
  auto teacher = teacher_model(2);
  Generator gx(3);
  const Tensor x = Tensor::randn({3, 2, 1, 8, 8}, gx), y = Tensor::randn({3, 2, 1, 8, 8}, gx);
  distill::KDConfig hint = feature_kd(0.7), plain = feature_kd(0.7);
  hint.beta = plain.beta = 0.3;  // the output term waits for the task stage too
  hint.hint_epochs = 2;
  Generator gh(5), gp(5), gb(5);
  distill::Distiller dh(hint, *student, {{"t", teacher}}, gh);
  distill::Distiller dp(plain, *student, {{"t", teacher}}, gp);
  const auto t = no_grad_forward(*teacher, x);
  models::FeatureAdapter adapter = adapter_for(*student, x, t, gb);  // the distillers' draws

  dh.begin_epoch(1, 5);
  auto out = student->forward(x);
  const auto parts = dh.loss(x, y, out, ids(3));
  const Tensor by_hand = mul_scalar(
      distill::feature_mse_loss(adapter.forward(out.features.at("latent")), t.features.at("latent")), 0.7);
  CHECK(parts.total.item() == Approx(by_hand.item()).epsilon(1e-6));
  CHECK(parts.parts.front().first == "mse");
  CHECK(parts.parts.front().second == mse_loss(out.pred, y).item());  // still reported
  // The hint loss reaches exactly what the feature term reaches, and leaves alone what only
  // the task loss reaches (the decoder after the tap).
  const auto hint_reach = reached(*student, parts.total);
  out = student->forward(x);
  const auto term_reach = reached(*student, mul_scalar(distill::feature_mse_loss(adapter.forward(out.features.at("latent")),
                                                                                  t.features.at("latent")), 0.7));
  out = student->forward(x);
  const auto task_reach = reached(*student, mse_loss(out.pred, y));
  CHECK(hint_reach == term_reach);
  std::set<std::string> task_only;
  for (const auto& n : task_reach)
    if (!hint_reach.count(n)) task_only.insert(n);
  CHECK(!task_only.empty());

  // After the hint stage: the loss of the same distiller without one, to the bit.
  dh.begin_epoch(2, 5);
  dp.begin_epoch(2, 5);
  out = student->forward(x);
  CHECK(dh.loss(x, y, out, ids(3)).total.item() == dp.loss(x, y, out, ids(3)).total.item());
}

TEST_CASE("hint stage in training: a one-epoch hint run leaves the task-only parameters as they were", "[distiller][levers]") {
  const data::SequenceDataset ds = test::noise_flow(12, 4, 8, "noise");
  const auto split = data::split_indices(12, 1);
  auto student = test::toy_model(test::toy_unet_config(), 1);
  std::map<std::string, std::vector<double>> before;  // copies: state_dict shares the storage
  for (const auto& [n, p] : student->state_dict()) before[n] = p.to_double_vector();
  distill::KDConfig kc = feature_kd(1.0);
  kc.hint_epochs = 1;
  Generator g(2);
  distill::Distiller d(kc, *student, {{"t", teacher_model(2)}}, g);
  // What only the task loss reaches, found on a batch (the decoder after the latent tap).
  Generator gx(3);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  d.begin_epoch(0, 1);
  auto out = student->forward(x);
  const auto hint_reach = reached(*student, d.loss(x, y, out, ids(2)).total);
  out = student->forward(x);
  const auto task_reach = reached(*student, mse_loss(out.pred, y));

  const test::TempDir dir("kd_hint");
  train::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch_size = 4;
  cfg.quiet = true;
  cfg.out_dir = dir.str();
  train::train_forecaster(*student, ds, split, cfg, d.hooks());
  const auto after = student->state_dict();
  int task_only = 0, moved = 0;
  for (const auto& n : task_reach) {
    const bool same = before.at(n) == after.at(n).to_double_vector();
    if (!hint_reach.count(n)) {
      ++task_only;
      CHECK(same);  // Adam with no gradient and no weight decay never moves it
    } else {
      moved += !same;
    }
  }
  CHECK(task_only > 0);
  CHECK(moved > 0);
}

TEST_CASE("lambda schedules: the factors by their formulas, and the loss they weight", "[distiller][levers]") {
  distill::KDConfig c = feature_kd(0.5);
  c.hint_epochs = 2;
  const int64_t E = 10, n = E - 2;
  for (int64_t e = 0; e < E; ++e) {
    INFO("epoch " << e);
    const double i = double(e - 2);
    c.lambda_schedule = distill::LambdaSchedule::constant;
    CHECK(distill::kd_weight_factor(c, e, E) == 1.0);
    c.lambda_schedule = distill::LambdaSchedule::linear_up;
    CHECK(distill::kd_weight_factor(c, e, E) == Approx(e < 2 ? 1.0 : (i + 1) / double(n)));
    c.lambda_schedule = distill::LambdaSchedule::linear_down;
    CHECK(distill::kd_weight_factor(c, e, E) == Approx(e < 2 ? 1.0 : 1.0 - i / double(n)));
    c.lambda_schedule = distill::LambdaSchedule::cosine_down;
    CHECK(distill::kd_weight_factor(c, e, E) ==
          Approx(e < 2 ? 1.0 : 0.5 * (1 + std::cos(std::numbers::pi * i / double(n)))));
  }
  c.lambda_schedule = distill::LambdaSchedule::linear_up;
  CHECK(distill::kd_weight_factor(c, E - 1, E) == 1.0);  // the full weight in the last epoch

  // The distiller weights its feature term by lambda times the factor, the MSE by one.
  auto student = test::toy_model(test::toy_unet_config(), 1);
  auto teacher = teacher_model(2);
  Generator gx(4);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  distill::KDConfig cd = feature_kd(0.5);
  cd.lambda_schedule = distill::LambdaSchedule::cosine_down;
  Generator g(5), g2(5);
  distill::Distiller d(cd, *student, {{"t", teacher}}, g);
  const auto out = student->forward(x);
  const auto t = no_grad_forward(*teacher, x);
  models::FeatureAdapter adapter = adapter_for(*student, x, t, g2);
  const double term =
      distill::feature_mse_loss(adapter.forward(out.features.at("latent")), t.features.at("latent")).item();
  for (int64_t e : {0, 3, 7}) {
    d.begin_epoch(e, 8);
    const double f = 0.5 * (1 + std::cos(std::numbers::pi * double(e) / 8.0));
    CHECK(d.current_lambda() == Approx(0.5 * f));
    CHECK(d.loss(x, y, out, ids(2)).total.item() == Approx(mse_loss(out.pred, y).item() + 0.5 * f * term).epsilon(1e-6));
  }
  CHECK_THROWS_WITH(d.begin_epoch(8, 8), Catch::Contains("epoch 8 of 8 is out of range"));
}

TEST_CASE("feature_norm: both features standardised per sample (loops), the teacher's scale then irrelevant", "[distiller][levers]") {
  auto student = test::toy_model(test::toy_unet_config(), 1);
  auto teacher = teacher_model(2);
  Generator gx(6);
  const Tensor x = Tensor::randn({3, 2, 1, 8, 8}, gx), y = Tensor::randn({3, 2, 1, 8, 8}, gx);
  distill::KDConfig c = feature_kd(0.4);
  c.feature_norm = true;
  Generator g(5), g2(5);
  distill::Distiller d(c, *student, {{"t", teacher}}, g);
  const auto out = student->forward(x);
  const auto t = no_grad_forward(*teacher, x);
  models::FeatureAdapter adapter = adapter_for(*student, x, t, g2);
  const double term = mean_sq_diff(standardised(adapter.forward(out.features.at("latent"))),
                                   standardised(t.features.at("latent")));
  const double got = d.loss(x, y, out, ids(3)).total.item();
  CHECK(got == Approx(mse_loss(out.pred, y).item() + 0.4 * term).epsilon(1e-5));

  // sdkd on standardised features: teacher features scaled by 3 give the same spectral loss,
  // and the distiller's loss is the spectral loss of the two standardised features.
  distill::KDConfig s = c;
  s.method = distill::KDMethod::sdkd;
  Generator g3(5), g4(5);
  distill::Distiller ds(s, *student, {{"t", teacher}}, g3);
  const Tensor tf = t.features.at("latent");
  models::FeatureAdapter a3 = adapter_for(*student, x, t, g4);
  const Tensor sf = group_norm(a3.forward(out.features.at("latent")), 1, Tensor(), Tensor());
  const double base = spectral_kd_loss(sf, group_norm(tf, 1, Tensor(), Tensor()), s.spectral).loss.item();
  const double scaled = spectral_kd_loss(sf, group_norm(mul_scalar(tf, 3.0), 1, Tensor(), Tensor()), s.spectral).loss.item();
  CHECK(scaled == Approx(base).epsilon(1e-4));
  CHECK(ds.loss(x, y, out, ids(3)).total.item() == Approx(mse_loss(out.pred, y).item() + 0.4 * base).epsilon(1e-5));
}

TEST_CASE("adapter_kernel 1: a per-pixel linear map of the channels", "[distiller][levers]") {
  auto student = test::toy_model(test::toy_unet_config(), 1);
  auto teacher = teacher_model(2);
  Generator gx(7);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  distill::KDConfig c = distill::KDConfig::from_json({{"method", "feature"}, {"lambda", 1.0}, {"adapter_kernel", 1}});
  Generator g(5);
  distill::Distiller d(c, *student, {{"t", teacher}}, g);
  const auto params = d.named_parameters();
  REQUIRE(params.size() == 2);
  const Tensor& w = params[0].second;  // (Ct, Cs, 1, 1), then the bias
  REQUIRE(w.dim() == 4);
  CHECK(w.size(2) == 1);
  CHECK(w.size(3) == 1);
  const auto out = student->forward(x);
  const auto t = no_grad_forward(*teacher, x);
  // By loops: adapted[b, o, p] = bias[o] + sum_i W[o, i] s[b, i, p].
  const Tensor sf = out.features.at("latent");
  const int64_t B = sf.size(0), Cs = sf.size(1), P = sf.size(2) * sf.size(3), Ct = w.size(0);
  const auto sv = sf.to_double_vector(), wv = w.to_double_vector(), bv = params[1].second.to_double_vector();
  std::vector<double> adapted(size_t(B * Ct * P));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < Ct; ++o)
      for (int64_t p = 0; p < P; ++p) {
        double a = bv[size_t(o)];
        for (int64_t i = 0; i < Cs; ++i) a += wv[size_t(o * Cs + i)] * sv[size_t((b * Cs + i) * P + p)];
        adapted[size_t((b * Ct + o) * P + p)] = a;
      }
  const double want = mse_loss(out.pred, y).item() + mean_sq_diff(adapted, t.features.at("latent").to_double_vector());
  CHECK(d.loss(x, y, out, ids(2)).total.item() == Approx(want).epsilon(1e-5));
}

TEST_CASE("symmetric_eigen: A v = lambda v, orthonormal rows, descending values", "[distiller][levers]") {
  for (int64_t n : {1, 2, 5, 17}) {
    const auto r = test::randn64({n, n}, uint64_t(n)).to_double_vector();
    std::vector<double> a(size_t(n * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) a[size_t(i * n + j)] = r[size_t(i * n + j)] + r[size_t(j * n + i)];
    std::vector<double> values, vectors;
    distill::symmetric_eigen(a, n, values, vectors);
    INFO("n " << n);
    for (int64_t k = 0; k + 1 < n; ++k) CHECK(values[size_t(k)] >= values[size_t(k + 1)]);
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < n; ++i) {
        double av = 0;
        for (int64_t j = 0; j < n; ++j) av += a[size_t(i * n + j)] * vectors[size_t(k * n + j)];
        CHECK(av == Approx(values[size_t(k)] * vectors[size_t(k * n + i)]).margin(1e-10));
      }
      for (int64_t l = 0; l < n; ++l) {
        double dot = 0;
        for (int64_t j = 0; j < n; ++j) dot += vectors[size_t(k * n + j)] * vectors[size_t(l * n + j)];
        CHECK(dot == Approx(k == l ? 1.0 : 0.0).margin(1e-12));
      }
    }
  }
}

TEST_CASE("teacher projection: the top-energy directions of a known two-direction field", "[distiller][levers]") {
  // f[b, :, p] = a[b, p] u1 + c[b, p] u2 with orthonormal u1, u2 in 6 channels and a carrying
  // four times c's energy: one direction keeps 4/5 of the energy and is u1, two keep all.
  const int64_t B = 2, C = 6, H = 4, W = 4, P = H * W;
  const double s = 1 / std::sqrt(2.0);
  const std::vector<double> u1 = {s, 0, s, 0, 0, 0}, u2 = {0, 0.6, 0, 0, -0.8, 0};
  // a and c orthogonal over the samples, so the second-moment matrix is 4|a|^2 u1 u1^T + |c|^2 u2 u2^T.
  const auto a = test::randn64({B, P}, 11).to_double_vector();
  auto c = test::randn64({B, P}, 12).to_double_vector();
  double ac = 0, aa = 0;
  for (size_t i = 0; i < a.size(); ++i) ac += a[i] * c[i], aa += a[i] * a[i];
  for (size_t i = 0; i < a.size(); ++i) c[i] -= ac / aa * a[i];
  double ea = 0, ec = 0;
  for (size_t i = 0; i < a.size(); ++i) ea += 4 * a[i] * a[i], ec += c[i] * c[i];
  std::vector<float> f(size_t(B * C * P));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t p = 0; p < P; ++p)
        f[size_t((b * C + ch) * P + p)] =
            float(2 * a[size_t(b * P + p)] * u1[size_t(ch)] + c[size_t(b * P + p)] * u2[size_t(ch)]);
  Tensor feats = Tensor::zeros({B, C, H, W});
  std::copy(f.begin(), f.end(), feats.data<float>());

  const auto one = distill::fit_teacher_projection(feats, 1);
  CHECK(one.energy_kept == Approx(ea / (ea + ec)).epsilon(1e-5));
  const auto w1 = one.weight.to_double_vector();
  for (int64_t ch = 0; ch < C; ++ch) CHECK(w1[size_t(ch)] == Approx(u1[size_t(ch)]).margin(1e-5));  // sign: largest entry > 0

  const auto two = distill::fit_teacher_projection(feats, 2);
  CHECK(two.energy_kept == Approx(1.0).epsilon(1e-6));
  // Both directions lie in the rows' span: P^T P u = u.
  const auto w2 = two.weight.to_double_vector();
  for (const auto* u : {&u1, &u2})
    for (int64_t ch = 0; ch < C; ++ch) {
      double back = 0;
      for (int64_t r = 0; r < 2; ++r) {
        double dot = 0;
        for (int64_t j = 0; j < C; ++j) dot += w2[size_t(r * C + j)] * (*u)[size_t(j)];
        back += w2[size_t(r * C + ch)] * dot;
      }
      CHECK(back == Approx((*u)[size_t(ch)]).margin(1e-5));
    }
  CHECK(distill::fit_teacher_projection(feats, C).energy_kept == Approx(1.0).epsilon(1e-6));
  CHECK_THROWS_WITH(distill::fit_teacher_projection(feats, 7), Catch::Contains("needs at most as many student channels"));
}

TEST_CASE("teacher-side adapter: no trained adapter, the teacher's features projected, fitted first", "[distiller][levers]") {
  auto student = test::toy_model(test::toy_unet_config(), 1);
  auto teacher = teacher_model(2, 16);
  Generator gx(8);  // 8 samples of 2x2 latent maps: more channel vectors than student channels
  const Tensor x = Tensor::randn({8, 2, 1, 8, 8}, gx), y = Tensor::randn({8, 2, 1, 8, 8}, gx);
  distill::KDConfig c = distill::KDConfig::from_json({{"method", "sdkd"}, {"lambda", 0.5}, {"adapter", "teacher"}});
  Generator g(5);
  distill::Distiller d(c, *student, {{"t", teacher}}, g);
  CHECK(d.named_parameters().empty());
  const auto out = student->forward(x);
  CHECK_THROWS_WITH(d.loss(x, y, out, ids(8)), Catch::Contains("needs fit"));
  d.fit(x);
  const auto t = no_grad_forward(*teacher, x);
  const Tensor tf = t.features.at("latent"), sf = out.features.at("latent");
  REQUIRE(tf.size(1) > sf.size(1));
  const auto p = distill::fit_teacher_projection(tf, sf.size(1));
  CHECK(d.projection(0, "latent").weight.to_double_vector() == p.weight.to_double_vector());
  const Tensor projected = conv2d(tf, p.weight, Tensor(), Conv2dOptions{});
  // The energy it keeps, summed directly (orthonormal rows: |P f|^2 over |f|^2).
  double e_proj = 0, e_all = 0;
  for (double v : projected.to_double_vector()) e_proj += v * v;
  for (double v : tf.to_double_vector()) e_all += v * v;
  CHECK(p.energy_kept == Approx(e_proj / e_all).epsilon(1e-4));
  const double want = mse_loss(out.pred, y).item() + 0.5 * spectral_kd_loss(sf, projected, c.spectral).loss.item();
  CHECK(d.loss(x, y, out, ids(8)).total.item() == Approx(want).epsilon(1e-5));

  // A student tap wider than the teacher's cannot be reached by a projection.
  Generator g2(5);
  CHECK_THROWS_WITH(distill::Distiller(c, *student, {{"t", teacher_model(2, 2)}}, g2),
                    Catch::Contains("more than teacher 't''s"));
}

TEST_CASE("Parseval holds for every band layout: fixed, K = 2..5, and equal-energy fitted", "[distiller][levers][bands]") {
  uint64_t seed = 40;
  for (int K = 2; K <= 5; ++K)
    for (bool fitted : {false, true}) {
      const Tensor s = test::randn64({2, 3, 12, 10}, seed++), t = test::randn64({2, 3, 12, 10}, seed++);
      SpectralKDOptions o;
      o.cutoffs.clear();
      for (int k = 1; k < K; ++k) o.cutoffs.push_back(1.2 * k / K);
      if (fitted) o.cutoffs = equal_energy_bands(t, K).cutoffs;
      INFO("K " << K << (fitted ? " equal-energy" : " fixed"));
      const auto r = spectral_kd_loss(s, t, o);  // alpha 1, no adaptive weights
      const double mse = mse_loss(s, t).item();
      CHECK(r.band_losses.size() == size_t(K));
      double total = 0;
      for (double v : r.band_losses) total += v;
      CHECK(std::fabs(total - mse) <= 1e-12 * mse);
      CHECK(std::fabs(r.loss.item() - mse) <= 1e-12 * mse);
    }
}

TEST_CASE("kd config: the levers round-trip and refuse what they cannot do", "[distiller][levers][limits]") {
  const nlohmann::json j = {{"method", "sdkd"}, {"adapter", "teacher"}, {"adapter_kernel", 1}, {"feature_norm", true},
                            {"hint_epochs", 3}, {"lambda_schedule", "linear_down"}};
  const auto c = distill::KDConfig::from_json(j);
  CHECK(c.adapter == distill::AdapterSide::teacher);
  CHECK(c.adapter_kernel == 1);
  CHECK(c.feature_norm);
  CHECK(c.hint_epochs == 3);
  CHECK(c.lambda_schedule == distill::LambdaSchedule::linear_down);
  CHECK(distill::KDConfig::from_json(c.to_json()).to_json() == c.to_json());
  CHECK(distill::levers_note(c) == ", teacher-side projection, features standardised, hint stage 3 epochs, lambda linear_down");
  CHECK(distill::levers_note(distill::KDConfig{}).empty());
  using Catch::Contains;
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"adapter", "both"}}),
                    Contains("kd.adapter 'both' is unknown (expected student or teacher)"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"adapter_kernel", 2}}), Contains("kd.adapter_kernel must be 1 or 3, got 2"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"adapter_kernel", 5}}), Contains("kd.adapter_kernel"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"hint_epochs", -1}}), Contains("kd.hint_epochs"));
  // No hint stage for methods without taps: the setting is inert there, as cutoffs are for feature KD.
  const auto out_kd = distill::KDConfig::from_json({{"method", "output"}, {"hint_epochs", 2}});
  CHECK(!distill::in_hint_stage(out_kd, 0));
  CHECK(distill::levers_note(out_kd).empty());
  CHECK(distill::in_hint_stage(c, 2));
  CHECK(!distill::in_hint_stage(c, 3));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"lambda_schedule", "exp"}}),
                    Contains("kd lambda_schedule 'exp' is unknown (expected constant, linear_up, linear_down or cosine_down)"));
}
