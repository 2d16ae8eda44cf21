// The data normalisation a forecaster carries (models/normalization.hpp): the affine maps by
// hand, the metadata round trip, and every malformed record refused with the checkpoint named.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "common/toy.hpp"
#include "sdkd/models/normalization.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"

using namespace sdkd;
using models::DataNormalization;
using Catch::Matchers::Contains;

TEST_CASE("z-score maps values to (x - mean) / std and back, the identity is no op", "[normalization]") {
  const auto n = DataNormalization::z_score(3.5, 0.25, "data");
  const std::vector<float> v{-1.0f, 0.0f, 3.5f, 4.0f, 1e3f};
  const Tensor x = Tensor::from_vector(v, {5});
  const auto z = n.to_model(x).to_float_vector();
  for (size_t i = 0; i < v.size(); ++i) CHECK(z[i] == Approx((double(v[i]) - 3.5) / 0.25).epsilon(1e-6));
  const auto back = n.to_data(n.to_model(x)).to_float_vector();
  for (size_t i = 0; i < v.size(); ++i) CHECK(back[i] == Approx(v[i]).epsilon(1e-6).margin(1e-6));

  const DataNormalization none;
  CHECK(none.to_model(x).impl_ptr() == x.impl_ptr());  // the very tensor: bitwise unchanged results
  CHECK(none.to_data(x).impl_ptr() == x.impl_ptr());
  CHECK(none.describe() == "none");
  CHECK_THAT(n.describe(), Contains("mean 3.5") && Contains("std 0.25"));
}

TEST_CASE("a forecaster's predict is forward on normalised input, mapped back", "[normalization]") {
  auto model = test::toy_model(test::toy_unet_config(), 4);
  model->eval();
  Generator g(9);
  const Tensor x = Tensor::randn({2, 2, 1, 8, 8}, g) * 7.0 + 40.0;
  NoGradGuard ng;
  const auto raw = model->forward(x).pred.to_float_vector();
  const auto same = model->predict(x).to_float_vector();
  REQUIRE(raw.size() == same.size());
  for (size_t i = 0; i < raw.size(); ++i) CHECK(raw[i] == same[i]);  // no normalisation: forward itself

  const double mean = 40.0, std = 7.0;
  model->set_normalization(DataNormalization::z_score(mean, std, "x"));
  // By hand in double: z = (x - mean) / std, forward, then p * std + mean.
  std::vector<float> zv = x.to_float_vector();
  for (auto& v : zv) v = float((double(v) - mean) / std);
  const auto p = model->forward(Tensor::from_vector(zv, x.shape())).pred.to_float_vector();
  const auto got = model->predict(x).to_float_vector();
  for (size_t i = 0; i < p.size(); ++i) CHECK(got[i] == Approx(double(p[i]) * std + mean).epsilon(1e-5));
}

TEST_CASE("normalisation metadata round-trips every digit and refuses malformed records", "[normalization]") {
  const auto n = DataNormalization::z_score(-(0.1 + 0.2), 1.0 / 3.0, "data");  // a negative mean too
  const auto back = DataNormalization::from_metadata(n.to_metadata(), "ck.safetensors");
  CHECK(back.zscore);
  CHECK(back.mean == n.mean);  // exact: 17 significant digits
  CHECK(back.std == n.std);
  CHECK_FALSE(DataNormalization::from_metadata(DataNormalization{}.to_metadata(), "ck").zscore);

  const char* bad[][2] = {
      {R"({"kind":"minmax","mean":0,"std":1})", "must be zscore or none"},
      {R"({"kind":"zscore","mean":0})", "std"},
      {R"({"kind":"zscore","mean":0,"std":0})", "std must be a finite number > 0"},
      {R"({"kind":"zscore","mean":0,"std":-2})", "std must be a finite number > 0"},
      {R"({"kind":"zscore","mean":"a","std":1})", "mean"},
      {R"([1])", "normalization"},
      {R"({"kind":)", "normalization"},
  };
  for (const auto& [text, what] : bad) {
    INFO(text);
    REQUIRE_THROWS_WITH(DataNormalization::from_metadata(text, "ck.safetensors"),
                        Contains("ck.safetensors") && Contains(what));
  }
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(DataNormalization::z_score(inf, 1, "u of f.mat"), Contains("u of f.mat") && Contains("finite"));
  CHECK_THROWS_WITH(DataNormalization::z_score(1, 0, "u of f.mat"), Contains("--normalize none"));
}

TEST_CASE("normalisations match up to summation round-off, not beyond", "[normalization]") {
  const auto a = DataNormalization::z_score(1e-17, 2.0, "a");
  CHECK(a.matches(DataNormalization::z_score(-3e-17, 2.0 * (1 + 1e-13), "b")));  // a mean that is all round-off
  CHECK_FALSE(a.matches(DataNormalization::z_score(1e-6, 2.0, "c")));
  CHECK_FALSE(a.matches(DataNormalization::z_score(0, 2.001, "d")));
  CHECK_FALSE(a.matches(DataNormalization{}));
  CHECK(DataNormalization{}.matches(DataNormalization{}));
}
