// Modules, optimizers, dropout, RNG and checkpoints, each against an independent computation.
#include <catch2/catch.hpp>
#include <cmath>
#include <omp.h>

#include "common/toy.hpp"
#include "gradcheck.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/nn.hpp"
#include "sdkd/optim.hpp"

using namespace sdkd;

namespace {
struct Tiny : nn::Module {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::Linear> head;
  explicit Tiny(Generator& g) {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 3, 3, g));
    bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(3));
    head = register_module("head", std::make_shared<nn::Linear>(3, 1, g));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = leaky_relu(bn->forward(conv->forward(x)), 0.1);
    return head->forward(mean(h, {2, 3}));
  }
};
}  // namespace

TEST_CASE("modules name their parameters and buffers hierarchically", "[nn]") {
  Generator g(1);
  Tiny m(g);
  std::vector<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.weight", "head.bias"});
  CHECK(m.num_parameters() == 3 * 2 * 9 + 3 + 3 + 3 + 3 + 1);
  const auto sd = m.state_dict();
  CHECK(sd.count("bn.running_mean"));
  CHECK(sd.count("bn.running_var"));
  // Default init is uniform in +-1/sqrt(fan_in): fan_in of the conv is 2*3*3.
  const double bound = 1.0 / std::sqrt(18.0);
  for (float v : m.conv->weight.to_float_vector()) CHECK(std::fabs(v) <= bound);
  auto bad = sd;
  bad["conv.weight"] = Tensor::zeros({3, 2, 5, 5});
  CHECK_THROWS_WITH(m.load_state_dict(bad), Catch::Contains("'conv.weight' has shape [3, 2, 5, 5]"));
  bad = sd;
  bad.erase("bn.running_var");
  CHECK_THROWS_WITH(m.load_state_dict(bad), Catch::Contains("missing entry 'bn.running_var'"));
  bad = sd;
  bad["extra"] = Tensor::zeros({1});
  CHECK_THROWS_WITH(m.load_state_dict(bad), Catch::Contains("unexpected entry 'extra'"));
}

TEST_CASE("Adam and AdamW updates equal the algorithm computed by hand", "[optim]") {
  for (bool decoupled : {false, true}) {
    INFO("decoupled " << decoupled);
    Tensor w = Tensor::from_vector(std::vector<double>{0.5, -1.5, 2.0}, {3});
    w.set_requires_grad(true);
    optim::AdamOptions o;
    o.lr = 0.1;
    o.weight_decay = 0.05;
    o.decoupled = decoupled;
    optim::Adam opt({{"w", w}}, o);
    double ref[3] = {0.5, -1.5, 2.0}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    for (int step = 1; step <= 3; ++step) {
      opt.zero_grad();
      // loss = sum(w^3) / 3 -> grad = w^2
      sum(mul_scalar(pow_scalar(w, 3.0), 1.0 / 3)).backward();
      opt.step();
      for (int i = 0; i < 3; ++i) {
        double gr = ref[i] * ref[i];
        if (decoupled) ref[i] -= o.lr * o.weight_decay * ref[i];
        else gr += o.weight_decay * ref[i];
        m[i] = 0.9 * m[i] + 0.1 * gr;
        v[i] = 0.999 * v[i] + 0.001 * gr * gr;
        const double mh = m[i] / (1 - std::pow(0.9, step)), vh = v[i] / (1 - std::pow(0.999, step));
        ref[i] -= o.lr * mh / (std::sqrt(vh) + o.eps);
      }
      const auto wv = w.to_double_vector();
      for (int i = 0; i < 3; ++i) CHECK(wv[size_t(i)] == Approx(ref[i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("gradient clipping scales to the requested global norm", "[optim]") {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, {2}), b = Tensor::from_vector(std::vector<double>{3}, {1});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  sum(add(mul_scalar(a, 3.0), Tensor::zeros({2}, DType::f64))).backward();  // grad a = (3, 3)
  sum(mul_scalar(b, 4.0)).backward();                                      // grad b = (4)
  const double before = optim::clip_grad_norm({a, b}, 1.0);
  CHECK(before == Approx(std::sqrt(34.0)));
  CHECK(optim::grad_norm({a, b}) == Approx(1.0).epsilon(1e-5));
  CHECK(a.grad().to_double_vector()[0] / b.grad().to_double_vector()[0] == Approx(0.75));
}

TEST_CASE("dropout keeps the expected fraction, scales survivors and is differentiable", "[nn][autograd]") {
  Generator g(3);
  const Tensor x = Tensor::ones({20000}, DType::f64);
  const auto y = dropout(x, 0.3, true, g).to_double_vector();
  int64_t kept = 0;
  for (double v : y) {
    CHECK((v == 0 || v == Approx(1 / 0.7)));
    kept += v != 0;
  }
  CHECK(double(kept) / 20000 == Approx(0.7).margin(0.015));
  Generator ge(3);
  CHECK(dropout(x, 0.3, false, ge).to_double_vector() == x.to_double_vector());
  // With a fixed mask dropout is linear: check it by finite differences.
  CHECK(sdkd::test::gradcheck([](const std::vector<Tensor>& v) { Generator gg(9); return dropout(v[0], 0.5, true, gg); },
                        {sdkd::test::randn64({4, 5}, 1)}).passed());
}

TEST_CASE("random tensors do not depend on the thread count", "[rng]") {
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  Generator g1(11);
  const auto a = Tensor::randn({100003}, g1).to_float_vector();
  omp_set_num_threads(2);
  Generator g2(11);
  const auto b = Tensor::randn({100003}, g2).to_float_vector();
  omp_set_num_threads(before);
  CHECK(a == b);
}

TEST_CASE("checkpoints round-trip model and optimizer state exactly", "[checkpoint]") {
  const test::TempDir tmp("ckpt");
  const std::string path = tmp / "tiny.safetensors";
  Generator g(5), gx(6);
  Tiny a(g);
  optim::Adam opt(a.named_parameters(), {});
  const Tensor x = Tensor::randn({4, 2, 5, 5}, gx);
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    sum(a.forward(x)).backward();
    opt.step();
  }
  save_checkpoint(path, a, &opt, {{"epoch", "7"}});
  Generator g2(99);
  Tiny b(g2);
  optim::Adam opt_b(b.named_parameters(), {});
  const auto meta = load_checkpoint(path, b, &opt_b);
  CHECK(meta.at("epoch") == "7");
  CHECK(opt_b.steps() == 3);
  for (auto& [n, t] : a.state_dict()) CHECK(t.to_float_vector() == b.state_dict().at(n).to_float_vector());
  // One more identical step on both gives identical weights (moments were restored too).
  for (auto* pair : {&a, &b}) {
    auto& o = pair == &a ? opt : opt_b;
    o.zero_grad();
    sum(pair->forward(x)).backward();
    o.step();
  }
  CHECK(a.conv->weight.to_float_vector() == b.conv->weight.to_float_vector());
  // A checkpoint for another model names the first entry that does not fit.
  struct Other : nn::Module {
    explicit Other(Generator& gg) { register_module("conv", std::make_shared<nn::Conv2d>(2, 4, 3, gg)); }
  };
  Other o(g2);
  CHECK_THROWS_WITH(load_checkpoint(path, o), Catch::Contains(path) && Catch::Contains("'conv.bias' has shape [3], the model expects [4]"));
}

TEST_CASE("all_finite and first_non_finite agree with a scan of every element", "[checkpoint]") {
  // The reduction (x * 0 summed) against std::isfinite over a host copy, on values that break
  // a naive sum (3e38 twice overflows float32; 1e300 squared overflows float64).
  auto scan = [](const Tensor& t) {
    for (double v : t.to_double_vector())
      if (!std::isfinite(v)) return false;
    return true;
  };
  Generator g(1);
  std::vector<Tensor> cases;
  for (const DType dt : {DType::f32, DType::f64}) {
    const double big = dt == DType::f32 ? 3e38 : 1e300;
    for (const double bad : {0.0, big, -big, std::nan(""), double(INFINITY), -double(INFINITY)}) {
      Tensor t = Tensor::randn({3, 5}, g, dt);
      for (const int64_t at : {int64_t(0), int64_t(14)}) {
        Tensor u = t.clone();
        if (dt == DType::f32) u.data<float>()[at] = float(bad);
        else u.data<double>()[at] = bad;
        if (bad == big || bad == -big) {  // big everywhere: the sum of squares or of values overflows
          for (int64_t i = 0; i < u.numel(); ++i)
            if (dt == DType::f32) u.data<float>()[i] = float(bad);
            else u.data<double>()[i] = bad;
        }
        cases.push_back(u);
      }
    }
  }
  for (const auto& t : cases) CHECK(all_finite(t) == scan(t));
  CHECK(all_finite(Tensor::zeros({0}, DType::f32)));
  TensorMap m = {{"a", cases[0]}, {"b", cases[6]}, {"c", cases[8]}};  // finite, NaN, +inf (f32)
  REQUIRE(scan(m["a"]));
  REQUIRE_FALSE(scan(m["b"]));
  CHECK(first_non_finite(m) == "b");
  m.erase("b");
  CHECK(first_non_finite(m) == "c");
  m.erase("c");
  CHECK(first_non_finite(m).empty());
}
