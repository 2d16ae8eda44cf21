// sdkd-crosscheck-dump: writes, for every model kind, every KD loss and a few whole
// distillation losses, one safetensors file holding the initial weights, a fixed random input
// and target, and what our engine computes from them (outputs, feature taps, loss values,
// gradients of every parameter, BatchNorm buffers after the step, an eval-mode output), once
// in float32 and once in float64. bench/reference/crosscheck.py recomputes all of it with
// PyTorch and compares (see its header for the tolerances).
//
// File layout (names):
//   w.<param or buffer>   the initial state, float32 (float64 runs upcast the same values)
//   x, y                  input and target (models, distillation); s, t (losses)
//   f32.* / f64.*         our results in that precision:
//     pred, feat.<tap>, loss, grad.<param>, buf.<buffer> (after the training forward),
//     eval_pred (eval-mode forward after that step), band_losses, weights, grad_s, parts.<name>
// The metadata holds "kind" (model | loss | distill) and the configs as JSON text.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/spectral_loss.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/error.hpp"
#include "sdkd/safetensors.hpp"
#include "sdkd/threads.hpp"
#include "tests/common/toy.hpp"

using namespace sdkd;
namespace fs = std::filesystem;

namespace {

const DType kDTypes[] = {DType::f32, DType::f64};
const char* prefix_of(DType d) { return d == DType::f32 ? "f32." : "f64."; }

StTensor to_st(const Tensor& t) {
  const Tensor c = t.detach().contiguous();
  StTensor s;
  s.dtype = c.dtype() == DType::f32 ? "F32" : "F64";
  s.shape = c.shape();
  const size_t n = size_t(c.numel()) * dtype_size(c.dtype());
  s.bytes.resize(n);
  if (n) std::memcpy(s.bytes.data(), c.dtype() == DType::f32 ? (const void*)c.data<float>() : (const void*)c.data<double>(), n);
  return s;
}

StTensor doubles_to_st(const std::vector<double>& v) { return to_st(Tensor::from_vector(v, {int64_t(v.size())})); }

struct Dump {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> meta;
  void put(const std::string& name, const Tensor& t) { tensors[name] = to_st(t); }
  void put_state(const std::string& prefix, const nn::Module& m) {
    for (const auto& [n, t] : m.state_dict()) put(prefix + n, t);
  }
  void put_grads(const std::string& prefix, const nn::Module& m) {
    for (const auto& [n, p] : m.named_parameters()) {
      const Tensor g = p.grad();
      // A parameter the loss does not reach has no .grad; PyTorch reports None there too.
      if (g.defined()) put(prefix + n, g);
    }
  }
  void put_buffers(const std::string& prefix, const nn::Module& m) {
    for (const auto& [n, b] : m.named_buffers()) put(prefix + n, b);
  }
  void save(const fs::path& path) const { save_safetensors(path.string(), tensors, meta); }
};

// ---------------------------------------------------------------- models

// The tests' toy widths on 3 -> 3 frames of 16x16, with hid_T 16.
models::ModelConfig small_config(const std::string& name) {
  models::ModelConfig c = test::toy_config(name, {3, 3, 16, 16});
  c.hid_T = 16;
  c.N_S = name == "alternet" ? 3 : 4;  // both encoder depths: 3 (no plain block) and 4
  return c;
}

void dump_model(const std::string& name, const fs::path& dir) {
  const models::ModelConfig cfg = small_config(name);
  const int64_t B = 3;  // > 1 so BatchNorm's batch statistics are non-trivial
  Generator data_gen(101);
  const Tensor x = Tensor::randn({B, cfg.in_frames, cfg.channels, cfg.height, cfg.width}, data_gen);
  const Tensor y = Tensor::randn({B, cfg.out_frames, cfg.channels, cfg.height, cfg.width}, data_gen);
  Dump d;
  d.meta = {{"kind", "model"}, {"name", name}, {"config", cfg.to_json().dump()}};
  d.put("x", x);
  d.put("y", y);
  for (DType dt : kDTypes) {
    Generator gen(7);
    auto m = models::make_model(cfg, gen);  // same seed: the same float32 weights each time
    if (dt == DType::f32) {
      d.put_state("w.", *m);
      // A real checkpoint of the same weights (with optimizer moments), which crosscheck.py
      // loads into the reference model with strict name matching.
      optim::Adam opt(m->named_parameters(), optim::AdamOptions{});
      save_checkpoint((dir / ("model_" + name + ".checkpoint")).string(), *m, &opt, {{"config", cfg.to_json().dump()}});
    } else {
      m->to(dt);
    }
    const std::string p = prefix_of(dt);
    m->train();
    const Tensor xd = x.to(dt), yd = y.to(dt);
    const models::ModelOutput out = m->forward(xd);
    const Tensor loss = mse_loss(out.pred, yd);
    loss.backward();
    d.put(p + "pred", out.pred);
    for (const auto& [tap, f] : out.features) d.put(p + "feat." + tap, f);
    d.put(p + "loss", loss);
    d.put_grads(p + "grad.", *m);
    d.put_buffers(p + "buf.", *m);
    m->eval();
    NoGradGuard ng;
    d.put(p + "eval_pred", m->forward(xd).pred);
  }
  d.save(dir / ("model_" + name + ".safetensors"));
}

// ---------------------------------------------------------------- KD losses on given maps

struct LossCase {
  std::string name, loss;  // loss: mse, output, feature, ab, sdkd
  Shape shape;
  nlohmann::json options;  // ab: margin; sdkd: SpectralKDOptions fields
};

SpectralKDOptions spectral_options(const nlohmann::json& j) {
  SpectralKDOptions o;
  if (j.contains("cutoffs")) o.cutoffs = j["cutoffs"].get<std::vector<double>>();
  if (j.contains("alpha")) o.alpha = j["alpha"].get<double>();
  if (j.contains("band_weights")) o.band_weights = j["band_weights"].get<std::vector<double>>();
  if (j.contains("adaptive")) o.adaptive = j["adaptive"].get<bool>();
  if (j.contains("gamma")) o.gamma = j["gamma"].get<double>();
  return o;
}

void dump_loss(const LossCase& c, const fs::path& dir) {
  Generator gen(202);
  const Tensor s = Tensor::randn(c.shape, gen);
  // A teacher with structure at every scale plus an offset, so the adaptive weights differ
  // per band and the AB indicator is not balanced.
  const Tensor t = add_scalar(mul_scalar(Tensor::randn(c.shape, gen), 1.5), 0.2);
  Dump d;
  d.meta = {{"kind", "loss"}, {"name", c.name}, {"loss", c.loss}, {"options", c.options.dump()}};
  d.put("s", s);
  d.put("t", t);
  for (DType dt : kDTypes) {
    const std::string p = prefix_of(dt);
    Tensor sd = s.to(dt).detach();
    sd.set_requires_grad(true);
    const Tensor td = t.to(dt);
    Tensor loss;
    if (c.loss == "mse") loss = mse_loss(sd, td);
    else if (c.loss == "output") loss = distill::output_kd_loss(sd, td);
    else if (c.loss == "feature") loss = distill::feature_mse_loss(sd, td);
    else if (c.loss == "ab") loss = ab_loss(sd, td, c.options.value("margin", 1.0));
    else if (c.loss == "sdkd") {
      const auto r = spectral_kd_loss(sd, td, spectral_options(c.options));
      loss = r.loss;
      d.tensors[p + "band_losses"] = doubles_to_st(r.band_losses);
      d.tensors[p + "weights"] = doubles_to_st(r.weights);
    } else {
      throw Error("crosscheck: unknown loss " + c.loss);
    }
    loss.backward();
    d.put(p + "loss", loss);
    d.put(p + "grad_s", sd.grad());
  }
  d.save(dir / ("loss_" + c.name + ".safetensors"));
}

// ---------------------------------------------------------------- whole distillation losses

struct DistillCase {
  std::string name, student, teacher;
  nlohmann::json kd;
};

void dump_distill(const DistillCase& c, const fs::path& dir) {
  const models::ModelConfig sc = small_config(c.student), tc = small_config(c.teacher);
  const distill::KDConfig kd = distill::KDConfig::from_json(c.kd);
  const int64_t B = 3;
  Generator data_gen(303);
  const Tensor x = Tensor::randn({B, sc.in_frames, sc.channels, sc.height, sc.width}, data_gen);
  const Tensor y = Tensor::randn({B, sc.out_frames, sc.channels, sc.height, sc.width}, data_gen);
  std::vector<train::Window> windows;
  for (int64_t b = 0; b < B; ++b) windows.emplace_back(0, b);
  Dump d;
  d.meta = {{"kind", "distill"},
            {"name", c.name},
            {"student", sc.to_json().dump()},
            {"teacher", tc.to_json().dump()},
            {"teacher_name", c.teacher},
            {"kd", kd.to_json().dump()}};
  d.put("x", x);
  d.put("y", y);
  for (DType dt : kDTypes) {
    Generator gs(11), gt(12), ga(13);
    auto student = models::make_model(sc, gs);
    auto teacher = models::make_model(tc, gt);
    distill::Distiller dist(kd, *student, {{c.teacher, teacher}}, ga);  // sets the teacher to eval, frozen
    if (dt == DType::f32) {
      d.put_state("w.student.", *student);
      d.put_state("w.teacher.", *teacher);
      d.put_state("w.kd.", dist);
    } else {
      student->to(dt);
      teacher->to(dt);
      dist.to(dt);
    }
    const std::string p = prefix_of(dt);
    student->train();
    const Tensor xd = x.to(dt), yd = y.to(dt);
    const models::ModelOutput out = student->forward(xd);
    const train::LossParts lp = dist.loss(xd, yd, out, windows);
    lp.total.backward();
    d.put(p + "loss", lp.total);
    for (const auto& [k, v] : lp.parts) d.put(p + "parts." + k, Tensor::scalar(v, DType::f64));
    d.put(p + "pred", out.pred);
    d.put_grads(p + "grad.student.", *student);
    d.put_grads(p + "grad.kd.", dist);
  }
  d.save(dir / ("distill_" + c.name + ".safetensors"));
}

// ---------------------------------------------------------------- the Navier-Stokes stepper

// The generator's solver (double only): a GRF start, `steps` steps, the field at the end. The
// reference is the PyTorch port bench/reference/sdkd_ref/ns.py that the step benchmark times.
void dump_ns(const std::string& scheme, const fs::path& dir) {
  data::NSConfig cfg = data::ns_preset("smoke");
  cfg.scheme = scheme;
  cfg.dt = scheme == "fno" ? 1e-3 : 0.01;  // within each scheme's CFL bound at 32^2
  const int n = 32, steps = 50;
  const auto forcing = data::ns_forcing(n, cfg.forcing_amplitude);
  const auto w0 = data::grf_sample(cfg, 0, n);
  data::NSSolver solver(n, cfg.viscosity, cfg.dt, data::parse_ns_scheme(scheme), forcing);
  solver.set_vorticity(w0.data());
  solver.advance(steps);
  std::vector<double> w(size_t(n) * n);
  solver.vorticity(w.data());
  Dump d;
  d.meta = {{"kind", "ns"},
            {"name", "ns_" + scheme},
            {"scheme", scheme},
            {"n", std::to_string(n)},
            {"viscosity", nlohmann::json(cfg.viscosity).dump()},
            {"dt", nlohmann::json(cfg.dt).dump()},
            {"steps", std::to_string(steps)}};
  d.put("w0", Tensor::from_vector(w0, {n, n}));
  d.put("forcing", Tensor::from_vector(forcing, {n, n}));
  d.put("f64.w", Tensor::from_vector(w, {n, n}));
  d.save(dir / ("ns_" + scheme + ".safetensors"));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string out = "crosscheck";
    std::string only;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--out" && i + 1 < argc) out = argv[++i];
      else if (a == "--only" && i + 1 < argc) only = argv[++i];
      else if (a == "-h" || a == "--help") {
        std::printf("usage: sdkd-crosscheck-dump [--out DIR] [--only SUBSTRING]\n"
                    "Writes DIR/{model,loss,distill}_*.safetensors for bench/reference/crosscheck.py.\n");
        return 0;
      } else {
        throw Error("sdkd-crosscheck-dump: unknown argument '" + a + "' (expected --out DIR, --only SUBSTRING)");
      }
    }
    fs::create_directories(out);
    set_num_threads(1);  // the numbers must not depend on the machine; speed does not matter here
    auto want = [&](const std::string& n) { return only.empty() || n.find(only) != std::string::npos; };
    int written = 0;

    for (const char* m : {"unet", "resnet", "mixer", "simvp", "alternet"})
      if (want(std::string("model_") + m)) dump_model(m, out), ++written;

    using J = nlohmann::json;
    const std::vector<LossCase> losses = {
        {"mse", "mse", {2, 3, 8, 8}, J::object()},
        {"output", "output", {2, 3, 1, 8, 8}, J::object()},
        {"feature", "feature", {2, 16, 4, 4}, J::object()},
        {"ab", "ab", {2, 16, 4, 4}, {{"margin", 1.0}}},
        {"ab_margin05", "ab", {2, 5, 3, 7}, {{"margin", 0.5}}},
        {"sdkd_plain", "sdkd", {2, 4, 16, 16}, {{"cutoffs", {0.25}}, {"alpha", 1.0}}},
        {"sdkd_alpha2", "sdkd", {2, 4, 16, 16}, {{"cutoffs", {0.25}}, {"alpha", 2.0}}},
        {"sdkd_3bands", "sdkd", {2, 4, 16, 12}, {{"cutoffs", {0.2, 0.5}}, {"band_weights", {1.0, 2.0, 0.5}}}},
        {"sdkd_adaptive", "sdkd", {2, 4, 16, 16}, {{"cutoffs", {0.25}}, {"alpha", 2.0}, {"adaptive", true}, {"gamma", 0.5}}},
        {"sdkd_odd", "sdkd", {3, 2, 7, 9}, {{"cutoffs", {0.3, 0.6}}, {"alpha", 1.5}, {"adaptive", true}, {"gamma", 1.0}}},
        {"sdkd_cutoff_on_bin", "sdkd", {1, 2, 8, 8}, {{"cutoffs", {0.25, 0.5}}, {"alpha", 3.0}}},
    };
    for (const auto& c : losses)
      if (want("loss_" + c.name)) dump_loss(c, out), ++written;

    const std::vector<DistillCase> distills = {
        {"sdkd_unet_simvp", "unet", "simvp", {{"method", "sdkd"}, {"lambda", 0.5}, {"alpha", 2.0}, {"cutoffs", {0.25}}}},
        {"sdkd_adaptive_beta", "unet", "simvp",
         {{"method", "sdkd"}, {"lambda", 0.7}, {"beta", 0.3}, {"cutoffs", {0.2, 0.5}}, {"adaptive", true}, {"gamma", 0.5}}},
        {"feature_resnet_alternet", "resnet", "alternet", {{"method", "feature"}, {"lambda", 0.5}}},
        {"ab_mixer_simvp", "mixer", "simvp", {{"method", "ab"}, {"lambda", 0.5}, {"ab_margin", 0.5}}},
        {"output_unet_alternet", "unet", "alternet", {{"method", "output"}}},
    };
    for (const auto& c : distills)
      if (want("distill_" + c.name)) dump_distill(c, out), ++written;

    for (const char* scheme : {"ifrk4", "fno"})
      if (want(std::string("ns_") + scheme)) dump_ns(scheme, out), ++written;

    std::printf("sdkd-crosscheck-dump: wrote %d files to %s\n", written, out.c_str());
    return written > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd-crosscheck-dump: %s\n", e.what());
    return 1;
  }
}
