// The teachers (SimVP, ST-AlterNet): shapes, taps, parameter counts by formula, per-frame
// encoding, determinism, clear errors, and float64 finite differences through the whole model.
#include <catch2/catch.hpp>

#include "common/toy.hpp"
#include "sdkd/models/forecaster.hpp"
#include "model_checks.hpp"
#include "sdkd/autograd.hpp"

using namespace sdkd;

namespace sdkd::model_checks {
std::shared_ptr<models::Forecaster> check_forward_shapes(const models::ModelConfig& cfg, int64_t batch,
                                                         const Shape& pred,
                                                         const std::vector<std::pair<std::string, Shape>>& taps) {
  Generator g(1), gx(2);
  auto m = models::make_model(cfg, g);
  const auto out = m->forward(Tensor::randn({batch, cfg.in_frames, cfg.channels, cfg.height, cfg.width}, gx));
  CHECK(out.pred.shape() == pred);
  for (const auto& [tap, shape] : taps) REQUIRE(out.features.count(tap));
  for (const auto& [tap, shape] : taps) {
    INFO(tap);
    CHECK(out.features.at(tap).shape() == shape);
  }
  return m;
}

bool check_directional_derivatives(models::Forecaster& m, const Tensor& x, const Tensor& y,
                                   const std::vector<std::string>& names, Generator& gen) {
  size_t agreed = 0;
  m.zero_grad();
  mse_loss(m.forward(x).pred, y).backward();
  for (auto& [name, p] : m.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
  }
  for (const auto& which : names) {
    INFO(which);
    Tensor w;
    for (auto& [name, p] : m.named_parameters())
      if (name == which) w = p;
    REQUIRE(w.defined());
    const Tensor dir = Tensor::randn(w.shape(), gen, DType::f64);
    double analytic = 0;
    const auto gv = w.grad().to_double_vector(), dv = dir.to_double_vector();
    for (size_t i = 0; i < gv.size(); ++i) analytic += gv[i] * dv[i];
    const Tensor w0 = w.clone().detach();
    // h = 1e-5: measured here, the mismatch grows as 1/h below it (round-off of a loss that
    // passes through ~50 ops) and as h^2 above 1e-4 (truncation); 1e-5 sits well between.
    const double h = 1e-5;
    NoGradGuard ng;
    w.copy_(add(w0, mul_scalar(dir, h)));
    const double lp = mse_loss(m.forward(x).pred, y).item();
    w.copy_(add(w0, mul_scalar(dir, -h)));
    const double lm = mse_loss(m.forward(x).pred, y).item();
    w.copy_(w0);
    const double numeric = (lp - lm) / (2 * h);
    CHECK(numeric == Approx(analytic).epsilon(1e-6).margin(1e-9));
    if (std::fabs(numeric - analytic) <= std::max(1e-9, 1e-6 * std::fabs(analytic))) ++agreed;
  }
  return agreed == names.size();
}
}  // namespace sdkd::model_checks

namespace {
// 3 -> 3 frames of two 8x12 channels, the teachers at their toy widths (hid_S 4, hid_T 8, N_S 3, N_T 2, 2 heads).
models::ModelConfig teacher_cfg(const std::string& name) { return test::toy_config(name, {3, 3, 8, 12, 2}); }

// check_directional_derivatives on teacher `name` in float64, initialised from Generator(model_seed),
// on a (2, 3, 2, 8, 12) input and target drawn from Generator(data_seed), which then draws the directions.
bool teacher_gradients_agree(const std::string& name, uint64_t model_seed, uint64_t data_seed,
                             const std::vector<std::string>& weights) {
  Generator g(model_seed), gx(data_seed);
  auto m = models::make_model(teacher_cfg(name), g);
  m->to(DType::f64);
  const Tensor x = Tensor::randn({2, 3, 2, 8, 12}, gx, DType::f64), y = Tensor::randn({2, 3, 2, 8, 12}, gx, DType::f64);
  return model_checks::check_directional_derivatives(*m, x, y, weights, gx);
}

int64_t conv(int64_t i, int64_t o, int64_t k) { return i * o * k * k + o; }  // with bias

// Encoder + decoder + the translator's in/out 1x1 convs, shared by both teachers.
int64_t codec_params(const models::ModelConfig& c) {
  const int64_t s = c.hid_S, lat = c.in_frames * s;
  int64_t n = conv(c.channels, s, 3) + 2 * s + (c.N_S - 1) * (conv(s, s, 3) + 2 * s);  // encoder (+GroupNorm)
  n += 2 * (conv(s, s, 4) + 2 * s) + (c.N_S - 2) * (conv(s, s, 3) + 2 * s) + conv(s, c.channels, 1);  // decoder
  return n + conv(lat, c.hid_T, 1) + conv(c.hid_T, lat, 1);
}
}  // namespace

TEST_CASE("SimVP shapes, taps and parameter count by formula", "[models][teachers]") {
  const auto cfg = teacher_cfg("simvp");
  auto m = model_checks::check_forward_shapes(cfg, 2, {2, 3, 2, 8, 12}, {{"encoder", {2, 12, 2, 3}}, {"latent", {2, 12, 2, 3}}, {"decoder", {2, 12, 4, 6}}});
  CHECK(models::latent_channels(cfg) == 12);
  const int64_t d = cfg.hid_T, r = cfg.mlp_ratio;
  const int64_t block = 2 * 2 * d + conv(1, d, 5) + conv(1, d, 7) + 2 * conv(d, d, 1) + conv(d, r * d, 1) +
                        conv(r * d, d, 1);  // two BatchNorms, dw5, dw7 (depthwise), pw, proj, MLP
  CHECK(m->num_parameters() == codec_params(cfg) + cfg.N_T * block);
}

TEST_CASE("ST-AlterNet shapes, taps and parameter count by formula", "[models][teachers]") {
  const auto cfg = teacher_cfg("alternet");
  auto m = model_checks::check_forward_shapes(cfg, 2, {2, 3, 2, 8, 12}, {{"encoder", {2, 12, 2, 3}}, {"latent", {2, 12, 2, 3}}, {"decoder", {2, 12, 4, 6}}});
  const int64_t d = cfg.hid_T, r = cfg.mlp_ratio, positions = 2 * 3;
  const int64_t block = conv(d, d, 3) + conv(1, d, 3) + positions * d + 4 * (d * d + d) + 2 * 2 * d +
                        (d * r * d + r * d) + (r * d * d + d);  // convs, pos, q/k/v/out, 2 LayerNorms, MLP
  CHECK(m->num_parameters() == codec_params(cfg) + cfg.N_T * block);
}

TEST_CASE("the teacher's decoder tap is the decoder's half-resolution feature", "[models][teachers]") {
  // Where the tap sits, read off the graph: a loss on it reaches the encoder, the translator
  // and the decoder blocks up to the last one at H/2 (blocks 0 and 1 for N_S = 4: block 0
  // upsamples, block 1 keeps H/2), and none after it (block 2 upsamples to H, block 3, readout).
  for (const char* name : {"simvp", "alternet"}) {
    INFO(name);
    auto cfg = teacher_cfg(name);
    cfg.N_S = 4;
    Generator g(3), gx(4);
    auto m = models::make_model(cfg, g);
    const auto out = m->forward(Tensor::randn({2, 3, 2, 8, 12}, gx));
    REQUIRE(out.features.at("decoder").shape() == Shape{2, 3 * cfg.hid_S, 4, 6});
    m->zero_grad();
    sum(square(out.features.at("decoder"))).backward();
    for (auto& [pname, p] : m->named_parameters()) {
      INFO(pname);
      const bool after = pname.rfind("dec.blocks.2.", 0) == 0 || pname.rfind("dec.blocks.3.", 0) == 0 ||
                         pname.rfind("dec.readout.", 0) == 0;
      bool reached = false;
      if (p.grad().defined())
        for (float v : p.grad().to_float_vector()) reached = reached || v != 0.0f;
      CHECK(reached == !after);
    }
  }
}

TEST_CASE("teacher encoder taps see each frame alone", "[models][teachers]") {
  // The encoder is applied per frame (T folded into the batch, GroupNorm per sample), so
  // changing input frame 0 must leave the tap channels of frames 1 and 2 bit-identical.
  for (const char* name : {"simvp", "alternet"}) {
    INFO(name);
    Generator g(3), gx(4);
    auto m = models::make_model(teacher_cfg(name), g);
    const Tensor x = Tensor::randn({1, 3, 2, 8, 12}, gx);
    auto xv = x.to_float_vector();
    for (size_t i = 0; i < 2 * 96; ++i) xv[i] += 0.5f;  // frame 0 only
    const auto a = m->forward(x).features.at("encoder").to_float_vector();
    const auto b = m->forward(Tensor::from_vector(xv, x.shape())).features.at("encoder").to_float_vector();
    // Channels are (frame, hid_S): frame 0 is channels 0..3, 6 positions each.
    for (size_t i = 0; i < a.size(); ++i) {
      if (i < 4 * 6) continue;
      CHECK(a[i] == b[i]);
    }
    CHECK(std::vector<float>(a.begin(), a.begin() + 24) != std::vector<float>(b.begin(), b.begin() + 24));
  }
}

TEST_CASE("teachers are deterministic for a seed and give clear errors", "[models][teachers]") {
  for (const char* name : {"simvp", "alternet"}) {
    INFO(name);
    Generator g1(5), g2(5), g3(6), gx(9);
    auto a = models::make_model(teacher_cfg(name), g1), b = models::make_model(teacher_cfg(name), g2),
         c = models::make_model(teacher_cfg(name), g3);
    const Tensor x = Tensor::randn({2, 3, 2, 8, 12}, gx);
    const auto ya = a->forward(x).pred.to_float_vector();
    CHECK(ya == b->forward(x).pred.to_float_vector());
    CHECK(ya != c->forward(x).pred.to_float_vector());
    CHECK_THROWS_WITH(a->forward(Tensor::randn({2, 3, 1, 8, 12}, gx)),
                      Catch::Contains("expected input (B, 3, 2, 8, 12), got [2, 3, 1, 8, 12]"));
    auto bad = teacher_cfg(name);
    bad.out_frames = 2;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("must equal out_frames"));
    bad = teacher_cfg(name);
    bad.width = 10;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("divisible by 4"));
    bad = teacher_cfg(name);
    bad.hid_S = 3;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("hid_S must be even"));
    bad = teacher_cfg(name);
    bad.N_S = 2;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("N_S must be >= 3"));
  }
  auto bad = teacher_cfg("alternet");
  bad.heads = 3;
  Generator g(1);
  CHECK_THROWS_WITH(models::make_model(bad, g), Catch::Contains("divisible by heads"));
}

TEST_CASE("SimVP gradients agree with finite differences in float64", "[models][teachers][autograd]") {
  CHECK(teacher_gradients_agree(
      "simvp", 11, 12,
      {"enc.blocks.0.conv.weight", "enc.blocks.2.norm.weight", "hid.in.weight", "hid.blocks.0.dw5.weight",
       "hid.blocks.0.dw7.weight", "hid.blocks.1.pw.bias", "hid.blocks.1.fc1.weight", "hid.blocks.0.norm1.weight",
       "dec.blocks.0.conv.weight", "dec.blocks.2.conv.weight", "dec.readout.bias"}));
}

TEST_CASE("ST-AlterNet gradients agree with finite differences in float64", "[models][teachers][autograd]") {
  CHECK(teacher_gradients_agree(
      "alternet", 13, 14,
      {"enc.blocks.1.conv.weight", "hid.blocks.0.conv.weight", "hid.blocks.0.dwconv.weight",
       "hid.blocks.0.pos_embed", "hid.blocks.0.q.weight", "hid.blocks.0.k.weight", "hid.blocks.1.v.bias",
       "hid.blocks.1.out.weight", "hid.blocks.0.fuse_norm.weight", "hid.blocks.1.mlp_norm.bias",
       "hid.blocks.1.fc2.weight", "hid.out.weight", "dec.blocks.1.conv.weight"}));
}
