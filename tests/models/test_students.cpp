// The extra students (ResNet, MLP-Mixer), the feature adapter and the model config: shapes,
// parameter counts by formula, layouts against naive loops, determinism, clear errors and
// float64 finite differences. The "[.timing]" case (hidden) reports demo-scale sizes and speed.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "common/toy.hpp"
#include "sdkd/models/adapter.hpp"
#include "sdkd/models/forecaster.hpp"
#include "model_checks.hpp"
#include "sdkd/models/resnet.hpp"
#include "sdkd/autograd.hpp"

using namespace sdkd;

namespace {
// 3 -> 2 frames of 8x12, the students at their toy widths (hidden 4, 2 blocks, MLP ratio 2).
models::ModelConfig student_cfg(const std::string& name) { return test::toy_config(name, {3, 2, 8, 12}); }
int64_t conv(int64_t i, int64_t o, int64_t k) { return i * o * k * k; }  // no bias
int64_t linear(int64_t i, int64_t o) { return i * o + o; }

Tensor param(const nn::Module& m, const std::string& which) {
  for (auto& [name, p] : m.named_parameters())
    if (name == which) return p;
  FAIL("no parameter " << which);
  return Tensor();
}
}  // namespace

TEST_CASE("ResNet student shapes, pooled H/4 tap and parameter count by formula", "[models][students]") {
  auto m = model_checks::check_forward_shapes(student_cfg("resnet"), 2, {2, 2, 1, 8, 12}, {{"latent", {2, 4, 2, 3}}});
  const int64_t w = 4;
  const int64_t block = 2 * (conv(w, w, 3) + 2 * w);  // two bias-free convs, each with BatchNorm
  CHECK(m->num_parameters() == conv(3, w, 3) + 2 * w + 2 * block + conv(w, 2, 1) + 2);
}

TEST_CASE("MLP-Mixer student shapes, token tap and parameter count by formula", "[models][students]") {
  auto m = model_checks::check_forward_shapes(student_cfg("mixer"), 2, {2, 2, 1, 8, 12}, {{"latent", {2, 16, 2, 3}}});
  const int64_t D = 16, N = 6, tok = D / 2, ch = 2 * D;
  const int64_t block = 2 * 2 * D + linear(N, tok) + linear(tok, N) + linear(D, ch) + linear(ch, D);
  CHECK(m->num_parameters() == linear(16 * 3, D) + 2 * block + 2 * D + linear(D, 16 * 2));
}

TEST_CASE("avg_pool matches naive tile means", "[models][students]") {
  Generator gx(3);
  const Tensor x = Tensor::randn({2, 3, 8, 12}, gx, DType::f64);
  const auto xv = x.to_double_vector(), pv = models::avg_pool(x, 4).to_double_vector();
  REQUIRE(pv.size() == size_t(2 * 3 * 2 * 3));
  for (int bc = 0; bc < 6; ++bc)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        double s = 0;
        for (int a = 0; a < 4; ++a)
          for (int b = 0; b < 4; ++b) s += xv[size_t(bc * 96 + (4 * i + a) * 12 + 4 * j + b)];
        CHECK(pv[size_t(bc * 6 + i * 3 + j)] == Approx(s / 16).epsilon(1e-12));
      }
  CHECK_THROWS_WITH(models::avg_pool(Tensor::zeros({1, 1, 6, 8}), 4), Catch::Contains("divisible by 4"));
}

TEST_CASE("Mixer without token mixing is per-patch: patches and head agree on the layout", "[models][students]") {
  // With the token MLPs' last layers zeroed, each 4x4 output patch depends only on the same
  // input patch (over all frames). Perturb one pixel; only its patch may move.
  Generator g(4), gx(5);
  auto m = models::make_model(student_cfg("mixer"), g);
  for (auto& [name, p] : m->named_parameters())
    if (name.find("token_fc2") != std::string::npos) p.fill_(0.0);
  const Tensor x = Tensor::randn({1, 3, 1, 8, 12}, gx);
  auto xv = x.to_float_vector();
  const int py = 5, px = 6;  // patch (1, 1)
  xv[size_t(1 * 96 + py * 12 + px)] += 1.0f;
  const auto a = m->forward(x).pred.to_float_vector();
  const auto b = m->forward(Tensor::from_vector(xv, x.shape())).pred.to_float_vector();
  int changed = 0;
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 12; ++j) {
        const size_t k = size_t(t * 96 + i * 12 + j);
        if (i / 4 == py / 4 && j / 4 == px / 4) {
          changed += a[k] != b[k];
        } else {
          CHECK(a[k] == b[k]);
        }
      }
  CHECK(changed == 32);
}

TEST_CASE("residual students with a zeroed head are exactly persistence", "[models][students]") {
  for (const char* name : {"resnet", "mixer"}) {
    INFO(name);
    Generator g(3), gx(4);
    auto m = models::make_model(student_cfg(name), g);
    for (auto& [pname, p] : m->named_parameters())
      if (pname.rfind("out.", 0) == 0 || pname.rfind("head.", 0) == 0) p.fill_(0.0);
    const Tensor x = Tensor::randn({1, 3, 1, 8, 12}, gx);
    const auto y = m->forward(x).pred.to_float_vector(), xv = x.to_float_vector();
    for (int t = 0; t < 2; ++t)
      for (int i = 0; i < 96; ++i) CHECK(y[size_t(t * 96 + i)] == xv[size_t(2 * 96 + i)]);
  }
}

TEST_CASE("students are deterministic for a seed and give clear errors", "[models][students]") {
  for (const char* name : {"resnet", "mixer"}) {
    INFO(name);
    Generator g1(5), g2(5), g3(6), gx(9);
    auto a = models::make_model(student_cfg(name), g1), b = models::make_model(student_cfg(name), g2),
         c = models::make_model(student_cfg(name), g3);
    const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx);
    const auto ya = a->forward(x).pred.to_float_vector();
    CHECK(ya == b->forward(x).pred.to_float_vector());
    CHECK(ya != c->forward(x).pred.to_float_vector());
    CHECK_THROWS_WITH(a->forward(Tensor::randn({2, 3, 1, 8, 8}, gx)),
                      Catch::Contains("expected input (B, 3, 1, 8, 12), got [2, 3, 1, 8, 8]"));
    auto bad = student_cfg(name);
    bad.height = 6;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("divisible by 4"));
    bad = student_cfg(name);
    bad.blocks = 0;
    CHECK_THROWS_WITH(models::make_model(bad, g1), Catch::Contains("blocks"));
  }
}

TEST_CASE("ResNet and Mixer gradients agree with finite differences in float64", "[models][students][autograd]") {
  Generator g(11), gx(12);
  const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx, DType::f64), y = Tensor::randn({2, 2, 1, 8, 12}, gx, DType::f64);
  auto r = models::make_model(student_cfg("resnet"), g);
  r->to(DType::f64);
  CHECK(model_checks::check_directional_derivatives(
      *r, x, y, {"stem.conv.weight", "blocks.0.conv1.bn.weight", "blocks.1.conv2.weight", "blocks.1.bn2.bias", "out.weight"},
      gx));
  auto m = models::make_model(student_cfg("mixer"), g);
  m->to(DType::f64);
  CHECK(model_checks::check_directional_derivatives(*m, x, y,
                                              {"embed.weight", "blocks.0.norm1.weight", "blocks.0.token_fc1.weight",
                                               "blocks.1.token_fc2.bias", "blocks.1.channel_fc1.weight",
                                               "blocks.0.channel_fc2.weight", "norm.bias", "head.weight"},
                                              gx));
}

TEST_CASE("latent_channels matches every model's latent tap and sizes the adapter", "[models][adapter]") {
  models::ModelConfig teacher = test::toy_config("simvp", {3, 3, 8, 12});
  teacher.N_T = 1;
  Generator g(1), gx(2);
  const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx);
  const Tensor t_latent = models::make_model(teacher, g)->forward(x).features.at("latent");
  CHECK(t_latent.size(1) == models::latent_channels(teacher));
  for (const char* name : {"unet", "resnet", "mixer", "alternet"}) {
    INFO(name);
    auto cfg = name == std::string("alternet") ? teacher : student_cfg(name);
    cfg.name = name;
    const Tensor s_latent = models::make_model(cfg, g)->forward(x).features.at("latent");
    CHECK(s_latent.size(1) == models::latent_channels(cfg));
    auto adapter = models::make_adapter(cfg, teacher, g);
    CHECK(adapter->forward(s_latent).shape() == t_latent.shape());
  }
  models::ModelConfig unknown;
  unknown.name = "vit";
  CHECK_THROWS_WITH(models::latent_channels(unknown), Catch::Contains("unknown model 'vit'"));
}

TEST_CASE("FeatureAdapter is a 3x3 same-padded conv with bias (naive loops, float64)", "[models][adapter]") {
  Generator g(7), gx(8);
  models::FeatureAdapter a(2, 3, g);
  a.to(DType::f64);
  const Tensor x = Tensor::randn({1, 2, 4, 5}, gx, DType::f64);
  const auto y = a.forward(x).to_double_vector(), xv = x.to_double_vector();
  const auto wv = param(a, "conv.weight").to_double_vector(), bv = param(a, "conv.bias").to_double_vector();
  REQUIRE(y.size() == size_t(3 * 4 * 5));
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 5; ++j) {
        double s = bv[size_t(o)];
        for (int c = 0; c < 2; ++c)
          for (int di = 0; di < 3; ++di)
            for (int dj = 0; dj < 3; ++dj) {
              const int ii = i + di - 1, jj = j + dj - 1;
              if (ii < 0 || ii >= 4 || jj < 0 || jj >= 5) continue;
              s += wv[size_t(((o * 2 + c) * 3 + di) * 3 + dj)] * xv[size_t((c * 4 + ii) * 5 + jj)];
            }
        CHECK(y[size_t((o * 4 + i) * 5 + j)] == Approx(s).epsilon(1e-12));
      }
  CHECK(a.num_parameters() == 2 * 3 * 9 + 3);
  CHECK_THROWS_WITH(a.forward(Tensor::zeros({1, 4, 4, 5}, DType::f64)),
                    Catch::Contains("FeatureAdapter(2 -> 3): expected (B, 2, h, w), got [1, 4, 4, 5]"));
}

TEST_CASE("model config JSON round-trips every field and rejects unknown keys", "[models]") {
  const models::ModelConfig c{.name = "alternet", .in_frames = 7, .out_frames = 7, .channels = 2, .height = 32,
                              .width = 48, .hidden = 9, .residual = false, .hid_S = 24, .hid_T = 96, .N_S = 5,
                              .N_T = 6, .heads = 3, .blocks = 7, .mlp_ratio = 3};  // every field off its default
  const auto j = c.to_json();
  CHECK(j.size() == 15);
  const auto back = models::ModelConfig::from_json(j);
  CHECK(back.to_json() == j);
  CHECK(back.hid_S == 24);
  CHECK(back.mlp_ratio == 3);
  CHECK(back.residual == false);
  CHECK(models::ModelConfig::from_json({{"N_T", 2}}).hid_S == models::ModelConfig().hid_S);  // defaults kept
  CHECK_THROWS_WITH(models::ModelConfig::from_json({{"hid_s", 3}}),
                    Catch::Contains("unknown key 'hid_s'") && Catch::Contains("hid_S"));
  CHECK_THROWS_WITH(models::ModelConfig::from_json({{"heads", "four"}}), Catch::Contains("key 'heads' has the wrong type"));
}
