// The inference door of the library (sdkd/models/checkpoint_model.hpp): a forecaster saved and
// loaded back forecasts bit for bit as before, normalisation included; forecast() agrees with
// predict() for a batch and a single window, on float32 and float64 frames; and each misuse
// (another model's weights, a file that is no forecaster checkpoint, a reserved metadata key,
// a wrong frame count, a GPU where there is none) is one sdkd::Error saying what to do.
#include <catch2/catch.hpp>

#include "common/toy.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/models/checkpoint_model.hpp"

using namespace sdkd;

namespace {
models::ModelConfig cfg_of(const std::string& name) { return test::toy_config(name, {3, 2, 8, 12}); }
}  // namespace

TEST_CASE("save_forecaster / load_forecaster round-trip every model with its normalisation", "[models][checkpoint]") {
  test::TempDir dir("ckpt_model");
  for (const char* name : {"unet", "resnet", "mixer"}) {
    INFO(name);
    auto m = test::toy_model(cfg_of(name), 3);
    m->set_normalization(models::DataNormalization::z_score(0.25, 1.5, "test data"));
    m->eval();
    const std::string path = dir / (std::string(name) + ".safetensors");
    models::save_forecaster(path, *m, {{"note", "kept"}});
    Metadata meta;
    load_tensors(path, &meta);
    CHECK(meta.at("note") == "kept");
    CHECK(meta.at("model") == m->config().to_json().dump());

    auto back = models::load_forecaster(path);
    CHECK(back->config().to_json() == m->config().to_json());
    CHECK(back->normalization().matches(m->normalization()));
    CHECK_FALSE(back->training());
    Generator gx(9);
    const Tensor x = Tensor::randn({2, 3, 1, 8, 12}, gx);
    NoGradGuard ng;
    CHECK(back->predict(x).to_float_vector() == m->predict(x).to_float_vector());
  }
}

TEST_CASE("forecast agrees with predict for a batch and for one window", "[models][checkpoint]") {
  auto m = test::toy_model(cfg_of("unet"), 4);
  m->set_normalization(models::DataNormalization::z_score(-0.5, 2.0, "test data"));
  m->eval();
  Generator gx(5);
  const Tensor x = Tensor::randn({3, 3, 1, 8, 12}, gx);
  Tensor ref;
  {
    NoGradGuard ng;
    ref = m->predict(x);
  }
  const Tensor batch = models::forecast(*m, x);
  CHECK(batch.shape() == Shape{3, 2, 1, 8, 12});
  CHECK(batch.to_float_vector() == ref.to_float_vector());
  CHECK_FALSE(batch.requires_grad());
  // One window (T_in, C, H, W): the batch's second row. BatchNorm in eval mode makes rows independent.
  const Tensor one = models::forecast(*m, x.select(0, 1));
  CHECK(one.shape() == Shape{2, 1, 8, 12});
  CHECK(one.to_float_vector() == ref.select(0, 1).contiguous().to_float_vector());
  // float64 frames: computed in the model's float32, returned as float64.
  const Tensor d = models::forecast(*m, x.to(DType::f64));
  CHECK(d.dtype() == DType::f64);
  const auto dv = d.to_double_vector();
  const auto rv = ref.to_float_vector();
  for (size_t i = 0; i < dv.size(); ++i) CHECK(dv[i] == double(rv[i]));
}

TEST_CASE("misuse of the inference API is one clear sdkd::Error", "[models][checkpoint]") {
  test::TempDir dir("ckpt_misuse");
  auto m = test::toy_model(cfg_of("unet"), 1);
  const std::string path = dir / "unet.safetensors";
  models::save_forecaster(path, *m);

  SECTION("a checkpoint whose weights are another model's") {
    // The metadata says width 8, the weights are of width 4.
    Metadata meta;
    const TensorMap t = load_tensors(path, &meta);
    auto wider = cfg_of("unet");
    wider.hidden = 8;
    meta["model"] = wider.to_json().dump();
    const std::string other = dir / "other.safetensors";
    save_tensors(other, t, meta);
    CHECK_THROWS_WITH(models::load_forecaster(other),
                      Catch::Contains(other) && Catch::Contains("do not fit the 'unet' model"));
  }
  SECTION("a file that is no forecaster checkpoint") {
    const std::string plain = dir / "plain.safetensors";
    save_tensors(plain, {{"w", Tensor::zeros({2})}});
    CHECK_THROWS_WITH(models::load_forecaster(plain),
                      Catch::Contains("no 'model' entry") && Catch::Contains("models::save_forecaster"));
    CHECK_THROWS_WITH(models::load_forecaster(dir / "missing.safetensors"), Catch::Contains("checkpoint not found"));
  }
  SECTION("metadata keys that are the model's own") {
    CHECK_THROWS_WITH(models::save_forecaster(dir / "x.safetensors", *m, {{"model", "{}"}}),
                      Catch::Contains("is the model's own"));
  }
  SECTION("frames that do not fit the model") {
    Generator gx(2);
    CHECK_THROWS_WITH(models::forecast(*m, Tensor::randn({1, 4, 1, 8, 12}, gx)),
                      Catch::Contains("reads 3 input frames"));
    CHECK_THROWS_WITH(models::forecast(*m, Tensor::randn({8, 12}, gx)), Catch::Contains("expected frames (B, T_in"));
  }
  SECTION("a GPU where there is none") {
    if (cuda_device_count() > 0) {
      WARN("a GPU is present: the no-GPU error is not reachable here");
    } else {
      CHECK_THROWS_AS(models::load_forecaster(path, parse_device("cuda")), Error);
      try {
        models::load_forecaster(path, parse_device("cuda"));
      } catch (const Error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("CUDA") != std::string::npos);
      }
    }
  }
}
