// sdkd-step-bench: end-to-end timings of our engine on a preset's shapes (configs/demo.json by
// default), the C++ half of bench/reference/run_step_bench.sh (PyTorch's half is
// bench/reference/step_bench.py, which reads the shapes this program resolves, so both sides
// run exactly the same models, batch and loss).
//
// Cases (--list):
//   teacher_step       teacher (teachers[0]) training step: forward, MSE, backward, Adam
//   student_step       student training step
//   sdkd_step          student + KD training step with the teacher's forward in every step
//                      (no-grad, eval mode), adapter, KD loss of the preset (SDKD), backward, Adam
//                      over student + adapter: the cost of a step in the first epoch (the
//                      Distiller caches teacher outputs per window afterwards)
//   sdkd_step_cached   the same with the teacher's outputs computed once (later epochs)
//   student_infer_b1   student forward, batch 1, eval mode, no grad
//   teacher_infer_b1   teacher forward, batch 1
//   ns_step            one Navier-Stokes solver step (datasets/navier_stokes.hpp) at the
//                      preset's solve resolution, one trajectory
//   ns_step_x8         8 trajectories stepped together as one batched solver (OpenMP over
//                      trajectories on the CPU, one launch sequence on a GPU); per step of all 8
// Each case: warm-up, then repeats until --min-time seconds and --min-reps repeats; the median
// and the 10th/90th percentiles of the per-repeat times are reported.
//
// Memory (CPU): "rss_peak_mib" is the growth of the process's peak resident set (VmHWM) over
// the resident set right before the case is built, the high-water mark being reset there
// through /proc/self/clear_refs: the whole footprint of the workload (weights, inputs,
// optimizer state, activations, gradients, library workspaces; for the cached KD case also the
// teacher's one forward), measured the same way as step_bench.py does for PyTorch. Run one
// case per process (the runner does): memory an earlier case freed stays with malloc and
// would hide a later case's growth. "tensor_peak_mib" is our allocator's own count
// (sdkd::host_memory_stats: tensor storage only, reset before each case), which PyTorch has no
// CPU counterpart for.
// On CUDA: peak allocated bytes of our caching allocator (reset before each case).
//
// Output: a table, or --json (one JSON object per line, what the runner reads).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/distill/distiller.hpp"
#include "sdkd/distill/kd_losses.hpp"
#include "sdkd/spectral_loss.hpp"
#include "sdkd/models/adapter.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/profiling.hpp"
#include "sdkd/threads.hpp"

using namespace sdkd;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// ---------------------------------------------------------------- the resolved preset

struct Setup {
  std::string preset_path;
  models::ModelConfig student, teacher;
  std::string teacher_name;
  distill::KDConfig kd;
  int64_t batch = 10;
  double student_lr = 1e-3, teacher_lr = 1e-3;
  data::NSConfig ns;
  std::string ns_preset;

  json to_json() const {
    return {{"preset", preset_path},
            {"student", student.to_json()},
            {"teacher", teacher.to_json()},
            {"teacher_name", teacher_name},
            {"kd", kd.to_json()},
            {"batch", batch},
            {"student_lr", student_lr},
            {"teacher_lr", teacher_lr},
            {"ns", {{"preset", ns_preset},
                    {"n", ns.solve_resolution},
                    {"viscosity", ns.viscosity},
                    {"dt", ns.dt},
                    {"scheme", ns.scheme},
                    {"forcing_amplitude", ns.forcing_amplitude}}}};
  }
};

// The shapes a preset trains on, as tools/ derives them: frames from "window", the grid from
// the data preset, the channel count 1 (vorticity).
Setup resolve(const std::string& path) {
  std::ifstream f(path);
  SDKD_CHECK(f.good(), "sdkd-step-bench: cannot read preset file '", path, "' (pass --config configs/demo.json)");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error(str_cat("sdkd-step-bench: ", path, " is not valid JSON: ", e.what()));
  }
  Setup s;
  s.preset_path = path;
  s.ns_preset = j.at("data").value("preset", "demo");
  s.ns = data::ns_preset(s.ns_preset);
  auto shape = [&](models::ModelConfig c) {
    c.in_frames = j.at("window").at("input_frames").get<int64_t>();
    c.out_frames = j.at("window").at("output_frames").get<int64_t>();
    c.channels = 1;
    c.height = c.width = s.ns.resolution;
    return c;
  };
  s.student = shape(models::ModelConfig::from_json(j.at("model")));
  SDKD_CHECK(j.contains("teachers") && !j["teachers"].empty(), "sdkd-step-bench: ", path, " has no teachers");
  const json& t = j["teachers"][0];
  s.teacher_name = t.value("name", "teacher");
  s.teacher = shape(models::ModelConfig::from_json(t.at("model")));
  s.batch = j.at("train").value("batch_size", int64_t(10));
  s.student_lr = j.at("train").value("lr", 1e-3);
  s.teacher_lr = t.contains("train") ? t["train"].value("lr", 1e-3) : 1e-3;
  s.kd = distill::KDConfig::from_json(j.at("kd"));
  return s;
}

// ---------------------------------------------------------------- device and memory helpers

Device g_device;

bool on_gpu() { return g_device.is_cuda(); }

void sync() {
  if (on_gpu()) cuda_synchronize(g_device.index);
}

// Inputs are drawn on the CPU in float32, so the timed run and its float64 CPU twin see the
// same numbers.
Tensor randn_on(const Shape& shape, Generator& gen, Device dev = g_device, DType dtype = DType::f32) {
  return Tensor::randn(shape, gen).to(dtype).to(dev);
}

int64_t status_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') return std::stoll(line.substr(n + 1));
  return -1;
}

// Resets VmHWM to the current RSS; false where the kernel does not allow it.
bool reset_hwm() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return bool(f);
}

// ---------------------------------------------------------------- cases

struct Case {
  std::function<void()> step;
  std::string unit = "ms";  // what one repeat is
  int warmup = 2;
};

struct Result {
  std::string name, note;
  double median_ms = 0, p10_ms = 0, p90_ms = 0;
  int reps = 0;
  double rss_peak_mib = -1, tensor_peak_mib = -1, gpu_peak_mib = -1;
  double per_second = 0;  // repeats per second (steps/s for the NS cases)
};

struct Options {
  double min_time = 2.0;
  int min_reps = 5, max_reps = 200;
};

// A training step: forward, loss, backward, Adam (zero_grad first, as train/trainer.cpp).
struct Trainer {
  std::shared_ptr<models::Forecaster> model;
  std::unique_ptr<optim::Adam> opt;
  Tensor x, y;
};

std::shared_ptr<Trainer> make_trainer(const models::ModelConfig& cfg, double lr, int64_t batch, Device dev,
                                      DType dtype) {
  auto t = std::make_shared<Trainer>();
  Generator gen(0), data(1);
  t->model = models::make_model(cfg, gen);
  t->model->to(dtype);
  t->model->to(dev);
  t->model->train();
  optim::AdamOptions ao;
  ao.lr = lr;
  t->opt = std::make_unique<optim::Adam>(t->model->named_parameters(), ao);
  t->x = randn_on({batch, cfg.in_frames, cfg.channels, cfg.height, cfg.width}, data, dev, dtype);
  t->y = randn_on({batch, cfg.out_frames, cfg.channels, cfg.height, cfg.width}, data, dev, dtype);
  return t;
}

Case train_case(const models::ModelConfig& cfg, double lr, int64_t batch) {
  auto t = make_trainer(cfg, lr, batch, g_device, DType::f32);
  return {[t] {
    const models::ModelOutput out = t->model->forward(t->x);
    const Tensor loss = mse_loss(out.pred, t->y);
    (void)loss.item();
    t->opt->zero_grad();
    loss.backward();
    t->opt->step();
  }};
}

// Student + KD (Distiller::loss for one teacher, without its per-window cache unless `cached`).
struct KDTrainer {
  std::shared_ptr<models::Forecaster> student, teacher;
  std::map<std::string, std::shared_ptr<models::FeatureAdapter>> adapters;
  std::unique_ptr<optim::Adam> opt;
  Tensor x, y;
  models::ModelOutput cached;
};

Tensor kd_loss(const distill::KDConfig& kd, KDTrainer& t, const models::ModelOutput& s, const models::ModelOutput& te) {
  Tensor total = mse_loss(s.pred, t.y);
  if (distill::uses_features(kd.method))
    for (const auto& tap : kd.taps) {
      const Tensor a = t.adapters.at(tap)->forward(s.features.at(tap));
      const Tensor& f = te.features.at(tap);
      Tensor term = kd.method == distill::KDMethod::sdkd      ? spectral_kd_loss(a, f, kd.spectral).loss
                    : kd.method == distill::KDMethod::feature ? distill::feature_mse_loss(a, f)
                                                              : ab_loss(a, f, kd.ab_margin);
      total = add(total, mul_scalar(term, kd.lambda));
    }
  const double beta = kd.method == distill::KDMethod::output && kd.beta == 0 ? 1.0 : kd.beta;
  if (beta > 0) total = add(total, mul_scalar(distill::output_kd_loss(s.pred, te.pred), beta));
  return total;
}

std::shared_ptr<KDTrainer> make_kd(const Setup& s, Device dev, DType dtype) {
  auto t = std::make_shared<KDTrainer>();
  Generator gs(0), gt(2), ga(3), data(1);
  t->student = models::make_model(s.student, gs);
  t->teacher = models::make_model(s.teacher, gt);
  t->student->to(dtype);
  t->teacher->to(dtype);
  t->teacher->eval();
  for (auto& p : t->teacher->parameters()) p.set_requires_grad(false);
  auto named = t->student->named_parameters();
  for (const auto& tap : s.kd.taps) {
    auto a = std::make_shared<models::FeatureAdapter>(models::latent_channels(s.student),
                                                      models::latent_channels(s.teacher), ga);
    a->to(dtype);
    a->to(dev);
    for (auto& [n, p] : a->named_parameters()) named.emplace_back("kd." + tap + "." + n, p);
    t->adapters[tap] = a;
  }
  t->student->to(dev);
  t->teacher->to(dev);
  t->student->train();
  optim::AdamOptions ao;
  ao.lr = s.student_lr;
  t->opt = std::make_unique<optim::Adam>(named, ao);
  const auto& c = s.student;
  t->x = randn_on({s.batch, c.in_frames, c.channels, c.height, c.width}, data, dev, dtype);
  t->y = randn_on({s.batch, c.out_frames, c.channels, c.height, c.width}, data, dev, dtype);
  return t;
}

Case kd_case(const Setup& s, bool cached) {
  auto t = make_kd(s, g_device, DType::f32);
  if (cached) {
    NoGradGuard ng;
    t->cached = t->teacher->forward(t->x);
  }
  const distill::KDConfig kd = s.kd;
  return {[t, kd, cached] {
    models::ModelOutput te;
    if (cached) {
      te = t->cached;
    } else {
      NoGradGuard ng;
      te = t->teacher->forward(t->x);
    }
    const models::ModelOutput out = t->student->forward(t->x);
    const Tensor loss = kd_loss(kd, *t, out, te);
    (void)loss.item();
    t->opt->zero_grad();
    loss.backward();
    t->opt->step();
  }};
}

Case infer_case(const models::ModelConfig& cfg) {
  Generator gen(0), data(1);
  auto m = std::shared_ptr<models::Forecaster>(models::make_model(cfg, gen));
  m->to(g_device);
  m->eval();
  const Tensor x = randn_on({1, cfg.in_frames, cfg.channels, cfg.height, cfg.width}, data);
  Case c{[m, x] {
    NoGradGuard ng;
    const models::ModelOutput out = m->forward(x);  // run_case waits for the device after each repeat
  }};
  c.warmup = 5;
  return c;
}

Case ns_case(const Setup& s, int trajectories) {
  data::NSConfig cfg = s.ns;
  const int n = cfg.solve_resolution;
  const size_t P = size_t(n) * n;
  const auto forcing = data::ns_forcing(n, cfg.forcing_amplitude);
  // One batched solver: OpenMP over its trajectories on the CPU, one launch sequence per step
  // for all of them on a GPU (what generate_ns runs).
  auto solver = std::make_shared<data::NSSolver>(n, cfg.viscosity, cfg.dt, data::parse_ns_scheme(cfg.scheme), forcing,
                                                 g_device, trajectories);
  std::vector<double> w0(size_t(trajectories) * P);
  for (int i = 0; i < trajectories; ++i) {
    const auto w = data::grf_sample(cfg, i, n);
    std::copy(w.begin(), w.end(), w0.begin() + std::ptrdiff_t(size_t(i) * P));
  }
  solver->set_vorticity(w0.data());
  Case c{[solver] { solver->step(); }};
  c.warmup = 5;
  return c;
}

const std::vector<std::string>& case_names() {
  static const std::vector<std::string> names = {"teacher_step",     "student_step",     "sdkd_step",
                                                 "sdkd_step_cached", "student_infer_b1", "teacher_infer_b1",
                                                 "ns_step",          "ns_step_x8"};
  return names;
}

Case make_case(const std::string& name, const Setup& s) {
  if (name == "teacher_step") return train_case(s.teacher, s.teacher_lr, s.batch);
  if (name == "student_step") return train_case(s.student, s.student_lr, s.batch);
  if (name == "sdkd_step") return kd_case(s, false);
  if (name == "sdkd_step_cached") return kd_case(s, true);
  if (name == "student_infer_b1") return infer_case(s.student);
  if (name == "teacher_infer_b1") return infer_case(s.teacher);
  if (name == "ns_step") return ns_case(s, 1);
  if (name == "ns_step_x8") return ns_case(s, 8);
  std::string all;
  for (const auto& n : case_names()) all += (all.empty() ? "" : ", ") + n;
  throw Error(str_cat("sdkd-step-bench: unknown case '", name, "' (available: ", all, ", all)"));
}

// ---------------------------------------------------------------- validation (--validate)
// Before a case is timed the runner asks for its validation: the same work in float64 on the
// CPU (the twin) must agree with the timed configuration (float32 on --device). Training
// cases compare the loss and the global gradient norm of one step, the KD cases the whole
// distillation loss, inference the output, the NS cases one step against the CPU solver (on
// the CPU: against the exact decay of a single Fourier mode, which the nonlinear term leaves
// alone). Tolerances: float32 against float64 over these depths gives ~1e-6 relative; 1e-4
// (losses, outputs) and 1e-3 (gradient norms, which sum many squared products) leave room
// for reduction order while any indexing or formula error shows at 1e-2 or more.

struct Check {
  std::string what;
  double got, want, tol;
  bool relative = true;  // false: `got` is already an error measure, compared with tol
  bool ok() const { return relative ? std::fabs(got - want) <= tol * std::max(std::fabs(want), 1e-12) : got <= tol; }
};

std::vector<Check> step_checks(Trainer& t) {
  const Tensor loss = mse_loss(t.model->forward(t.x).pred, t.y);
  t.opt->zero_grad();
  loss.backward();
  return {{"loss", loss.item(), 0, 1e-4}, {"grad_norm", optim::grad_norm(t.model->parameters()), 0, 1e-3}};
}

std::vector<Check> kd_checks(const distill::KDConfig& kd, KDTrainer& t) {
  models::ModelOutput te;
  {
    NoGradGuard ng;
    te = t.teacher->forward(t.x);
  }
  const Tensor loss = kd_loss(kd, t, t.student->forward(t.x), te);
  t.opt->zero_grad();
  loss.backward();
  return {{"kd_loss", loss.item(), 0, 1e-4}, {"grad_norm", optim::grad_norm(t.student->parameters()), 0, 1e-3}};
}

// Largest |a - b| over largest |b|.
double rel_max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0, m = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(a[i] - b[i]));
    m = std::max(m, std::fabs(b[i]));
  }
  return d / m;
}

std::vector<Check> validate_case(const std::string& name, const Setup& s) {
  const Device cpu{};
  std::vector<Check> got, want;
  auto pair_up = [&](std::vector<Check> g, std::vector<Check> w) {
    for (size_t i = 0; i < g.size(); ++i) g[i].want = w[i].got;
    return g;
  };
  if (name == "teacher_step" || name == "student_step") {
    const auto& cfg = name == "teacher_step" ? s.teacher : s.student;
    const double lr = name == "teacher_step" ? s.teacher_lr : s.student_lr;
    auto ours = make_trainer(cfg, lr, s.batch, g_device, DType::f32);
    auto twin = make_trainer(cfg, lr, s.batch, cpu, DType::f64);
    return pair_up(step_checks(*ours), step_checks(*twin));
  }
  if (name == "sdkd_step" || name == "sdkd_step_cached") {
    auto ours = make_kd(s, g_device, DType::f32);
    auto twin = make_kd(s, cpu, DType::f64);
    return pair_up(kd_checks(s.kd, *ours), kd_checks(s.kd, *twin));
  }
  if (name == "student_infer_b1" || name == "teacher_infer_b1") {
    const auto& cfg = name == "teacher_infer_b1" ? s.teacher : s.student;
    NoGradGuard ng;
    std::vector<std::vector<double>> outs;
    for (auto [dev, dt] : {std::pair{g_device, DType::f32}, std::pair{cpu, DType::f64}}) {
      Generator gen(0), data(1);
      auto m = models::make_model(cfg, gen);
      m->to(dt);
      m->to(dev);
      m->eval();
      outs.push_back(m->forward(randn_on({1, cfg.in_frames, cfg.channels, cfg.height, cfg.width}, data, dev, dt))
                         .pred.to_double_vector());
    }
    return {{"output (max diff / max)", rel_max_diff(outs[0], outs[1]), 0, 1e-4, false}};
  }
  if (name == "ns_step" || name == "ns_step_x8") {
    const data::NSConfig& cfg = s.ns;
    const int n = cfg.solve_resolution;
    const auto scheme = data::parse_ns_scheme(cfg.scheme);
    if (on_gpu()) {  // the GPU step against the CPU solver from the same state
      std::vector<std::vector<double>> w(2, std::vector<double>(size_t(n) * n));
      const auto w0 = data::grf_sample(cfg, 0, n);
      const auto forcing = data::ns_forcing(n, cfg.forcing_amplitude);
      for (int k = 0; k < 2; ++k) {
        data::NSSolver sv(n, cfg.viscosity, cfg.dt, scheme, forcing, k == 0 ? g_device : cpu);
        sv.set_vorticity(w0.data());
        sv.step();
        sv.vorticity(w[size_t(k)].data());
      }
      return {{"vorticity after one step (max diff / max)", rel_max_diff(w[0], w[1]), 0, 1e-10, false}};
    }
    // CPU: exp(-nu k^2 dt) (IF-RK4) or the Crank-Nicolson factor for a single mode.
    const int k = 2;
    data::NSSolver sv(n, cfg.viscosity, cfg.dt, scheme, std::vector<double>(size_t(n) * n, 0.0));
    std::vector<double> w(size_t(n) * n), ref(w.size()), out(w.size());
    const double lam = cfg.viscosity * 4 * M_PI * M_PI * k * k * cfg.dt;
    const double factor = scheme == data::NSScheme::ifrk4 ? std::exp(-lam) : (1 - lam / 2) / (1 + lam / 2);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        w[size_t(i) * n + j] = std::cos(2 * M_PI * k * double(i) / n);
        ref[size_t(i) * n + j] = factor * w[size_t(i) * n + j];
      }
    sv.set_vorticity(w.data());
    sv.step();
    sv.vorticity(out.data());
    return {{"single-mode decay (max diff / max)", rel_max_diff(out, ref), 0, 1e-10, false}};
  }
  make_case(name, s);  // throws for an unknown name, listing the cases
  throw Error(str_cat("sdkd-step-bench: no validation for case '", name, "'"));
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t i = size_t(pos);
  const double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

Result run_case(const std::string& name, const Setup& s, const Options& o) {
  Result r;
  r.name = name;
  if (on_gpu()) cuda_reset_peak(g_device.index);
  reset_peak_host_memory();
  const int64_t tensors_before = host_memory_stats().current_bytes;
  const bool hwm = reset_hwm();
  const int64_t rss0 = status_kib("VmRSS");
  Case c = make_case(name, s);
  sync();
  for (int i = 0; i < c.warmup; ++i) c.step();
  sync();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (int(ms.size()) < o.max_reps) {
    const auto t0 = Clock::now();
    c.step();
    sync();
    const auto t1 = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    const double elapsed = std::chrono::duration<double>(t1 - start).count();
    if (int(ms.size()) >= o.min_reps && elapsed >= o.min_time) break;
  }
  r.reps = int(ms.size());
  r.median_ms = percentile(ms, 0.5);
  r.p10_ms = percentile(ms, 0.1);
  r.p90_ms = percentile(ms, 0.9);
  r.per_second = 1000.0 / r.median_ms;
  const int64_t hwm_kib = status_kib("VmHWM");
  if (hwm && rss0 >= 0 && hwm_kib >= 0) r.rss_peak_mib = double(hwm_kib - rss0) / 1024.0;
  else r.note = "VmHWM reset unavailable";
  // Setup tensors (weights, inputs) are part of the model's footprint: counted from before the
  // case was built, as the RSS figure counts them only through what the step adds.
  r.tensor_peak_mib = double(host_memory_stats().peak_bytes - tensors_before) / (1024.0 * 1024.0);
  if (on_gpu()) r.gpu_peak_mib = double(cuda_memory_stats(g_device.index).peak_allocated) / (1024.0 * 1024.0);
  return r;
}

json result_json(const Result& r, int threads) {
  json j = {{"impl", "sdkd"},
            {"case", r.name},
            {"device", g_device.str()},
            {"threads", threads},
            {"median_ms", r.median_ms},
            {"p10_ms", r.p10_ms},
            {"p90_ms", r.p90_ms},
            {"reps", r.reps},
            {"per_second", r.per_second},
            {"rss_peak_mib", r.rss_peak_mib},
            {"tensor_peak_mib", r.tensor_peak_mib}};
  if (r.gpu_peak_mib >= 0) j["gpu_peak_mib"] = r.gpu_peak_mib;
  if (!r.note.empty()) j["note"] = r.note;
  return j;
}

void usage() {
  std::printf(
      "usage: sdkd-step-bench [--config configs/demo.json] [--case NAME|all] [--threads N] [--device cpu|cuda]\n"
      "                       [--min-time S] [--min-reps N] [--max-reps N] [--json] [--list] [--print-setup]\n"
      "                       [--validate: compare with a float64 CPU twin and exit 1 on a mismatch]\n"
      "Times training steps, batch-1 inference and the NS solver on a preset's shapes (see the file header).\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string config = "configs/demo.json", which = "all", device = "cpu";
    int threads = 2;
    bool as_json = false, list = false, print_setup = false, validate = false;
    Options o;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        SDKD_CHECK(i + 1 < argc, "sdkd-step-bench: ", a, " needs a value");
        return argv[++i];
      };
      if (a == "--config") config = value();
      else if (a == "--case") which = value();
      else if (a == "--threads") threads = std::stoi(value());
      else if (a == "--device") device = value();
      else if (a == "--min-time") o.min_time = std::stod(value());
      else if (a == "--min-reps") o.min_reps = std::stoi(value());
      else if (a == "--max-reps") o.max_reps = std::stoi(value());
      else if (a == "--json") as_json = true;
      else if (a == "--list") list = true;
      else if (a == "--print-setup") print_setup = true;
      else if (a == "--validate") validate = true;
      else if (a == "-h" || a == "--help") {
        usage();
        return 0;
      } else {
        throw Error(str_cat("sdkd-step-bench: unknown option '", a, "' (try --help)"));
      }
    }
    SDKD_CHECK(threads >= 1, "sdkd-step-bench: --threads must be >= 1, got ", threads);
    SDKD_CHECK(o.min_reps >= 1 && o.max_reps >= o.min_reps, "sdkd-step-bench: need 1 <= --min-reps <= --max-reps");
    if (list) {
      for (const auto& n : case_names()) std::printf("%s\n", n.c_str());
      return 0;
    }
    g_device = parse_device(device);
    if (g_device.is_cuda()) require_cuda("sdkd-step-bench --device " + device, g_device.index);
    set_num_threads(threads);
    const Setup s = resolve(config);
    if (print_setup) {
      std::printf("%s\n", s.to_json().dump(1).c_str());
      return 0;
    }
    std::vector<std::string> names = which == "all" ? case_names() : std::vector<std::string>{which};
    if (validate) {  // the runner times a case only after this passed
      bool all_ok = true;
      for (const auto& n : names) {
        for (const Check& c : validate_case(n, s)) {
          all_ok = all_ok && c.ok();
          std::printf("validate %-18s %-44s %s: %.6g vs %.6g (tol %.0e%s)\n", n.c_str(), c.what.c_str(),
                      c.ok() ? "ok" : "FAILED", c.got, c.want, c.tol, c.relative ? " relative" : "");
        }
      }
      return all_ok ? 0 : 1;
    }
    if (!as_json)
      std::printf("%-18s %10s %10s %10s %6s %12s %12s\n", "case", "median_ms", "p10_ms", "p90_ms", "reps",
                  "rss_peak_MiB", "tensor_MiB");
    int failures = 0;
    for (const auto& n : names) {
      try {
        const Result r = run_case(n, s, o);
        if (as_json) std::printf("%s\n", result_json(r, threads).dump().c_str());
        else
          std::printf("%-18s %10.3f %10.3f %10.3f %6d %12.1f %12.1f\n", r.name.c_str(), r.median_ms, r.p10_ms,
                      r.p90_ms, r.reps, r.rss_peak_mib, r.tensor_peak_mib);
      } catch (const std::exception& e) {
        // One case that cannot run (an op without a CUDA kernel, say) must not hide the others.
        ++failures;
        if (as_json)
          std::printf("%s\n", json{{"impl", "sdkd"}, {"case", n}, {"device", g_device.str()}, {"error", e.what()}}
                                  .dump()
                                  .c_str());
        else
          std::printf("%-18s error: %s\n", n.c_str(), e.what());
      }
      std::fflush(stdout);
    }
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd-step-bench: %s\n", e.what());
    return 1;
  }
}
