// The distiller wires models, adapters and KD losses into training; each check compares it
// with the same quantity assembled by hand from the parts.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/toy.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/distill/multi_teacher.hpp"
#include "sdkd/autograd.hpp"

using namespace sdkd;

namespace {
// Students and teachers on the toy 2 -> 2 frames of 8x8, one latent block for the teachers.
std::shared_ptr<models::Forecaster> model(const std::string& name, uint64_t seed) {
  models::ModelConfig c = test::toy_config(name, {2, 2, 8, 8});
  c.N_T = 1;
  return test::toy_model(c, seed);
}

std::vector<train::Window> ids(int64_t n) {
  std::vector<train::Window> w;
  for (int64_t i = 0; i < n; ++i) w.emplace_back(i, 0);
  return w;
}
}  // namespace

TEST_CASE("sdkd with alpha 1 equals spatial feature KD (Parseval through the whole distiller)", "[distiller]") {
  auto student = model("unet", 1);
  Generator gx(3);
  const Tensor x = Tensor::randn({3, 2, 1, 8, 8}, gx), y = Tensor::randn({3, 2, 1, 8, 8}, gx);
  distill::KDConfig a, b;
  a.method = distill::KDMethod::sdkd;
  a.spectral.alpha = 1.0;
  a.spectral.cutoffs = {0.3, 0.6};
  a.taps = b.taps = {"latent"};
  b.method = distill::KDMethod::feature;
  Generator ga(9), gb(9);  // same adapter initialisation
  distill::Distiller da(a, *student, {{"simvp", model("simvp", 2)}}, ga);
  distill::Distiller db(b, *student, {{"simvp", model("simvp", 2)}}, gb);
  const auto out = student->forward(x);
  const double la = da.loss(x, y, out, ids(3)).total.item(), lb = db.loss(x, y, out, ids(3)).total.item();
  CHECK(la == Approx(lb).epsilon(1e-5));
  // And the mse part is the plain forecasting loss.
  CHECK(da.loss(x, y, out, ids(3)).parts.front().second == Approx(mse_loss(out.pred, y).item()));
}

TEST_CASE("distiller loss is MSE plus lambda times the adapted feature term, teachers cached", "[distiller]") {
  auto student = model("unet", 1);
  auto teacher = model("alternet", 2);
  Generator gx(4);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  distill::KDConfig c;
  c.method = distill::KDMethod::feature;
  c.lambda = 0.7;
  c.beta = 0.2;
  Generator g(5);
  distill::Distiller d(c, *student, {{"alt", teacher}}, g);
  const auto out = student->forward(x);
  const double got = d.loss(x, y, out, ids(2)).total.item();
  // By hand: the adapter is the distiller's only child module "alt.latent".
  models::ModelOutput t;
  {
    NoGradGuard ng;
    t = teacher->forward(x);
  }
  Generator g2(5);
  models::FeatureAdapter adapter(out.features.at("latent").size(1), t.features.at("latent").size(1), g2);
  const double want = mse_loss(out.pred, y).item() +
                      0.7 * distill::feature_mse_loss(adapter.forward(out.features.at("latent")), t.features.at("latent")).item() +
                      0.2 * distill::output_kd_loss(out.pred, t.pred).item();
  CHECK(got == Approx(want).epsilon(1e-5));
  // The cache answers by window id: other inputs under the same ids give the cached teacher.
  const Tensor x2 = Tensor::randn({2, 2, 1, 8, 8}, gx);
  const double cached = d.loss(x2, y, out, ids(2)).total.item();
  CHECK(cached == Approx(got).epsilon(1e-6));
  CHECK(d.named_parameters().size() == 2);  // adapter weight and bias
  // The teacher is frozen.
  for (auto& p : teacher->parameters()) CHECK(!p.requires_grad());
}

TEST_CASE("AEKD weights in the distiller satisfy the constraints and minimise the QP", "[distiller]") {
  auto student = model("unet", 1);
  Generator gx(6);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  distill::KDConfig c;
  c.method = distill::KDMethod::sdkd;
  c.weighting = distill::TeacherWeighting::aekd;
  c.aekd_c = 0.6;
  Generator g(7);
  distill::Distiller d(c, *student, {{"a", model("simvp", 2)}, {"b", model("alternet", 3)}, {"c", model("simvp", 4)}}, g);
  const auto out = student->forward(x);
  d.loss(x, y, out, ids(2));
  const auto w = d.last_weights();
  REQUIRE(w.size() == 3);
  double s = 0;
  for (double v : w) {
    CHECK(v >= -1e-12);
    CHECK(v <= 0.6 + 1e-12);
    s += v;
  }
  CHECK(s == Approx(1.0));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"method", "sdkd"}, {"weighting", "best"}}),
                    Catch::Contains("expected aver or aekd"));
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"method", "magic"}}), Catch::Contains("expected none, sdkd"));
}

TEST_CASE("distilled training resumes bit for bit with the adapters restored", "[distiller][train]") {
  const data::SequenceDataset ds = test::noise_flow(12, 4, 8, "noise");
  const auto split = data::split_indices(12, 1);
  auto teacher = model("simvp", 2);
  train::TrainConfig tc;
  tc.epochs = 3;
  tc.batch_size = 4;
  tc.quiet = true;
  distill::KDConfig kc;
  kc.method = distill::KDMethod::sdkd;
  kc.lambda = 0.5;
  auto run = [&](const std::string& dir, int64_t epochs, bool resume, uint64_t init) {
    auto s = model("unet", init);
    Generator g(init);
    distill::Distiller d(kc, *s, {{"t", teacher}}, g);
    auto c = tc;
    c.out_dir = dir;
    c.epochs = epochs;
    c.resume = resume;
    return train::train_forecaster(*s, ds, split, c, d.hooks()).step_losses;
  };
  const test::TempDir a("dist_a"), b("dist_b");
  const auto full = run(a.str(), 3, false, 11);
  auto joined = run(b.str(), 1, false, 11);
  const auto rest = run(b.str(), 3, true, 99);  // different init: everything must come from last.safetensors
  joined.insert(joined.end(), rest.begin(), rest.end());
  REQUIRE(joined.size() == full.size());
  for (size_t i = 0; i < full.size(); ++i) CHECK(joined[i] == full[i]);
}

TEST_CASE("kd methods and weightings are parsed once by name and written back by name", "[distiller]") {
  for (const char* name : {"none", "output", "feature", "sdkd", "ab"})
    CHECK(std::string(distill::kd_method_name(distill::parse_kd_method(name))) == name);
  for (const char* name : {"aver", "aekd"})
    CHECK(std::string(distill::teacher_weighting_name(distill::parse_teacher_weighting(name))) == name);
  CHECK_THROWS_WITH(distill::parse_kd_method("SDKD"),
                    "kd method 'SDKD' is unknown (expected none, sdkd, feature, ab, output)");
  CHECK_THROWS_WITH(distill::parse_teacher_weighting(""), "kd weighting '' is unknown (expected aver or aekd)");
  const auto c = distill::KDConfig::from_json({{"method", "ab"}, {"weighting", "aekd"}});
  CHECK(c.method == distill::KDMethod::ab);
  CHECK(c.weighting == distill::TeacherWeighting::aekd);
  CHECK(distill::uses_features(c.method));
  CHECK_FALSE(distill::uses_features(distill::KDMethod::output));
  // The config JSON (and so checkpoint and train.json metadata) keeps the names.
  CHECK(c.to_json().at("method") == "ab");
  CHECK(c.to_json().at("weighting") == "aekd");
  CHECK(distill::KDConfig{}.to_json().at("method") == "none");
  CHECK(distill::KDConfig{}.to_json().at("weighting") == "aver");
}

TEST_CASE("a teacher trained on other normalised data is refused, naming both scales", "[distiller][normalization]") {
  auto student = model("unet", 1);
  auto teacher = model("simvp", 2);
  teacher->set_normalization(models::DataNormalization::z_score(250.0, 6.0, "data"));
  distill::KDConfig c;
  c.method = distill::KDMethod::output;
  Generator g(5);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(distill::Distiller(c, *student, {{"t", teacher}}, g),
                    Contains("teacher 't'") && Contains("z-score (mean 250, std 6)") && Contains("none") &&
                        Contains("--normalize"));
  student->set_normalization(models::DataNormalization::z_score(250.0, 6.0 * (1 + 1e-12), "data"));
  CHECK_NOTHROW(distill::Distiller(c, *student, {{"t", teacher}}, g));  // the same statistics, summed otherwise
}

TEST_CASE("a teacher that forecasts non-finite values is named as the cause", "[distiller][limits]") {
  auto student = model("unet", 1);
  auto teacher = model("simvp", 2);
  Generator gx(4);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, gx), y = Tensor::randn({2, 2, 1, 8, 8}, gx);
  for (const auto method : {distill::KDMethod::output, distill::KDMethod::sdkd}) {
    distill::KDConfig c;
    c.method = method;
    Generator g(5);
    distill::Distiller d(c, *student, {{"bad", teacher}}, g);
    // Finite weights first: the same batch passes, so the check is not blind.
    CHECK(std::isfinite(d.loss(x, y, student->forward(x), ids(2)).total.item()));
    teacher->parameters().front().data<float>()[0] = std::nanf("");
    using Catch::Matchers::Contains;
    // New window ids, so the teacher runs again rather than answering from its cache.
    std::vector<train::Window> fresh = {{7, 3}, {8, 0}};
    CHECK_THROWS_WITH(d.loss(x, y, student->forward(x), fresh),
                      Contains("teacher 'bad' (simvp) produced non-finite outputs or features on a batch with "
                               "trajectory 7 (start frame 3): the teacher is the cause"));
    teacher = model("simvp", 2);  // a fresh, finite teacher for the next method
  }
}

TEST_CASE("equal-energy bands: fitted per tap on the teacher's features, then used by the loss", "[distiller][bands]") {
  auto student = model("unet", 1);
  auto teacher = model("simvp", 2);
  Generator gx(6);
  const Tensor x = Tensor::randn({3, 2, 1, 8, 8}, gx), y = Tensor::randn({3, 2, 1, 8, 8}, gx);
  distill::KDConfig c = distill::KDConfig::from_json(
      {{"method", "sdkd"}, {"lambda", 0.5}, {"alpha", 2.0}, {"cutoffs", {0.3, 0.6}}, {"bands", "equal_energy"}});
  REQUIRE(c.equal_energy_bands);
  CHECK(c.to_json().at("bands") == "equal_energy");
  Generator g(5);
  distill::Distiller d(c, *student, {{"t", teacher}}, g);
  const auto out = student->forward(x);
  CHECK_THROWS_WITH(d.loss(x, y, out, ids(3)), Catch::Contains("needs fit"));
  d.fit(x);
  // By hand: the bands of the teacher's latent on x, and the loss with them.
  models::ModelOutput t;
  {
    NoGradGuard ng;
    t = teacher->forward(x);
  }
  const auto want = equal_energy_bands(t.features.at("latent"), 3).cutoffs;
  CHECK(d.cutoffs(0, "latent") == want);
  CHECK(want != std::vector<double>{0.3, 0.6});
  Generator g2(5);
  models::FeatureAdapter adapter(out.features.at("latent").size(1), t.features.at("latent").size(1), g2);
  SpectralKDOptions o = c.spectral;
  o.cutoffs = want;
  const double expect = mse_loss(out.pred, y).item() +
                        0.5 * spectral_kd_loss(adapter.forward(out.features.at("latent")), t.features.at("latent"), o).loss.item();
  CHECK(d.loss(x, y, out, ids(3)).total.item() == Approx(expect).epsilon(1e-5));
  // Fixed bands keep the configured cutoffs whatever fit_bands sees.
  c.equal_energy_bands = false;
  Generator g3(5);
  distill::Distiller fixed(c, *student, {{"t", teacher}}, g3);
  fixed.fit(x);
  CHECK(fixed.cutoffs(0, "latent") == std::vector<double>{0.3, 0.6});
  CHECK_THROWS_WITH(distill::KDConfig::from_json({{"method", "sdkd"}, {"bands", "auto"}}),
                    Catch::Contains("kd.bands must be \"fixed\" or \"equal_energy\", got 'auto'"));
}
