#include "train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "eval/metrics.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/cuda_graph.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/schedule.hpp"
#include "train/progress.hpp"

namespace sdkd::train {

namespace fs = std::filesystem;

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    try {
      if (k == "epochs") c.epochs = it->get<int64_t>();
      else if (k == "batch_size") c.batch_size = it->get<int64_t>();
      else if (k == "lr") c.lr = it->get<double>();
      else if (k == "weight_decay") c.weight_decay = it->get<double>();
      else if (k == "adamw") c.adamw = it->get<bool>();
      else if (k == "grad_clip") c.grad_clip = it->get<double>();
      else if (k == "patience") c.patience = it->get<int64_t>();
      else if (k == "seed") c.seed = it->get<uint64_t>();
      else if (k == "schedule") c.schedule = it->get<std::string>();
      else if (k == "warmup_steps") c.warmup_steps = it->get<int64_t>();
      else if (k == "min_lr") c.min_lr = it->get<double>();
      else if (k == "cuda_graph") c.cuda_graph = it->get<bool>();
      else throw Error(str_cat("train config: unknown key '", k,
                               "' (known: epochs, batch_size, lr, weight_decay, adamw, grad_clip, patience, seed, "
                               "schedule, warmup_steps, min_lr, cuda_graph)"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat("train config: key '", k, "' has the wrong type: ", e.what()));
    }
  }
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"epochs", epochs},     {"batch_size", batch_size},     {"lr", lr},       {"weight_decay", weight_decay},
          {"adamw", adamw},       {"grad_clip", grad_clip},       {"patience", patience}, {"seed", seed},
          {"schedule", schedule}, {"warmup_steps", warmup_steps}, {"min_lr", min_lr}};
}

namespace {

std::string fmt(double v, const char* f = "%.5g") {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

nlohmann::json history_json(const std::vector<EpochRecord>& h) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : h)
    a.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"val_mse", r.val_mse}, {"seconds", r.seconds}});
  return a;
}

std::vector<EpochRecord> history_from_json(const nlohmann::json& a) {
  std::vector<EpochRecord> h;
  for (const auto& r : a)
    h.push_back({r.at("epoch").get<int64_t>(), r.at("train_loss").get<double>(), r.at("val_mse").get<double>(),
                 r.at("seconds").get<double>()});
  return h;
}

// The CUDA-graph path of the training step: after two eager full-size steps (so cuBLAS, cuFFT
// plans and allocator blocks exist), forward + MSE + backward are captured once with static
// input buffers; each later full-size batch is copied into those buffers and the graph is
// replayed. The gradients the captured backward wrote are re-attached to the parameters
// (zero_grad detaches them), and the optimizer runs eagerly (its learning rate changes).
class GraphedStep {
 public:
  GraphedStep(Device dev, int64_t batch) : dev_(dev), batch_(batch) {}
  bool fits(const Tensor& x) const { return dev_.is_cuda() && x.size(0) == batch_ && eager_full_ >= 2; }
  void note_eager_step(const Tensor& x) {
    if (x.size(0) == batch_) ++eager_full_;
  }
  Tensor run(models::Forecaster& model, const std::vector<Tensor>& params, const Tensor& x, const Tensor& y) {
    if (!graph_) {
      gx_ = Tensor::zeros(x.shape(), x.dtype(), dev_);
      gy_ = Tensor::zeros(y.shape(), y.dtype(), dev_);
      graph_ = std::make_unique<CudaGraph>(dev_);
      graph_->capture([&] {
        for (auto p : params) p.zero_grad();
        Tensor l = mse_loss(model.forward(gx_).pred, gy_);
        l.backward();
        loss_ = l.detach();
      });
      for (const auto& p : params) grads_.push_back(p.grad().impl_ptr());
    }
    gx_.copy_(x);
    gy_.copy_(y);
    graph_->replay();
    for (size_t k = 0; k < params.size(); ++k) params[k].impl()->grad = grads_[k];
    return loss_;
  }

 private:
  Device dev_;
  int64_t batch_;
  int64_t eager_full_ = 0;
  std::unique_ptr<CudaGraph> graph_;
  Tensor gx_, gy_, loss_;
  std::vector<std::shared_ptr<TensorImpl>> grads_;
};

constexpr const char* kExtraPrefix = "kd.";
constexpr const char* kOptimPrefix = "optim.";

// Model, extra module and optimizer state in one file (see TrainHooks).
void save_run_state(const std::string& path, const nn::Module& model, const nn::Module* extra, const optim::Adam& opt,
                    const Metadata& meta) {
  TensorMap all = model.state_dict();
  if (extra)
    for (const auto& [n, t] : extra->state_dict()) all[kExtraPrefix + n] = t;
  for (const auto& [n, t] : opt.state_dict()) all[kOptimPrefix + n] = t;
  save_tensors(path, all, meta);
}

Metadata load_run_state(const std::string& path, nn::Module& model, nn::Module* extra, optim::Adam& opt) {
  Metadata meta;
  TensorMap model_part, extra_part, optim_part;
  for (auto& [n, t] : load_tensors(path, &meta)) {
    if (n.rfind(kOptimPrefix, 0) == 0) optim_part[n.substr(std::strlen(kOptimPrefix))] = t;
    else if (n.rfind(kExtraPrefix, 0) == 0) extra_part[n.substr(std::strlen(kExtraPrefix))] = t;
    else model_part[n] = t;
  }
  try {
    model.load_state_dict(model_part);
    if (extra) extra->load_state_dict(extra_part);
    else SDKD_CHECK(extra_part.empty(), "holds distillation state ('kd.' entries) but this run has none");
    opt.load_state_dict(optim_part);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what() + " (resume with the same model and distillation settings)");
  }
  return meta;
}

}  // namespace

TrainResult train_forecaster(models::Forecaster& model, const data::SequenceDataset& data, const data::Split& split,
                             const TrainConfig& cfg, const TrainHooks& hooks) {
  SDKD_CHECK(cfg.epochs >= 1, "--epochs must be >= 1, got ", cfg.epochs);
  SDKD_CHECK(cfg.lr > 0, "--lr must be > 0, got ", cfg.lr);
  SDKD_CHECK(!cfg.out_dir.empty(), "training needs an output folder (--out)");
  fs::create_directories(cfg.out_dir);
  const std::string last_path = (fs::path(cfg.out_dir) / "last.safetensors").string();
  const std::string best_path = (fs::path(cfg.out_dir) / "best.safetensors").string();

  optim::AdamOptions ao;
  ao.lr = cfg.lr;
  ao.weight_decay = cfg.weight_decay;
  ao.decoupled = cfg.adamw;
  auto named = model.named_parameters();
  if (hooks.extra)
    for (auto& [n, t] : hooks.extra->named_parameters()) named.emplace_back(kExtraPrefix + n, t);
  std::vector<Tensor> trainable;
  for (auto& [n, t] : named) trainable.push_back(t);
  optim::Adam opt(named, ao);

  TrainResult res;
  int64_t start_epoch = 0;
  if (cfg.resume && fs::exists(last_path)) {
    const Metadata meta = load_run_state(last_path, model, hooks.extra, opt);
    start_epoch = std::stoll(meta.at("epoch")) + 1;
    res.best_val_mse = std::stod(meta.at("best_val_mse"));
    res.best_epoch = std::stoll(meta.at("best_epoch"));
    res.train_seconds = std::stod(meta.at("train_seconds"));
    res.history = history_from_json(nlohmann::json::parse(meta.at("history")));
    if (!cfg.quiet) std::fprintf(stderr, "resuming %s at epoch %lld\n", last_path.c_str(), (long long)start_epoch);
  }

  const auto train_windows = data.windows(split.train), val_windows = data.windows(split.val);
  SDKD_CHECK(!train_windows.empty() && !val_windows.empty(), data.name(), ": no training or validation windows");
  optim::LrSchedule sched;
  sched.kind = optim::LrSchedule::parse_kind(cfg.schedule);
  sched.base_lr = cfg.lr;
  sched.total_steps = cfg.epochs * ((int64_t(train_windows.size()) + cfg.batch_size - 1) / cfg.batch_size);
  sched.warmup_steps = cfg.warmup_steps;
  sched.min_lr = cfg.min_lr;
  const nlohmann::json model_json = model.config().to_json();
  const Device dev = model.device();
  SDKD_CHECK(!cfg.cuda_graph || dev.is_cuda(), "--cuda-graph needs the model on a CUDA device (--device cuda)");
  // Distillation hooks read losses back to the host inside the step: they run eagerly.
  const bool use_graph = cfg.cuda_graph && !hooks.loss;
  if (cfg.cuda_graph && hooks.loss && !cfg.quiet) std::fprintf(stderr, "cuda graph: distillation steps run eagerly\n");
  GraphedStep graphed(dev, cfg.batch_size);
  int64_t steps = opt.steps();
  int64_t since_best = res.best_epoch >= 0 ? int64_t(res.history.size()) - 1 - res.best_epoch : 0;

  for (int64_t epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    model.train();
    if (hooks.extra) hooks.extra->train();
    data::BatchIterator it(data, train_windows, cfg.batch_size, /*shuffle=*/true, cfg.seed, epoch);
    ProgressBar bar(str_cat("epoch ", epoch + 1, "/", cfg.epochs), int64_t(train_windows.size()), "samples");
    Tensor x, y;
    double loss_sum = 0;
    std::vector<std::pair<std::string, double>> part_sums;
    int64_t batches = 0, seen = 0;
    while (it.next(x, y)) {
      LossParts lp;
      if (use_graph && graphed.fits(x)) {
        lp.total = graphed.run(model, trainable, x, y);  // forward + backward already done
      } else {
        const Tensor xd = x.to(dev), yd = y.to(dev);
        const models::ModelOutput out = model.forward(xd);
        lp = hooks.loss ? hooks.loss(xd, yd, out, it.batch_windows()) : LossParts{mse_loss(out.pred, yd), {}};
        opt.zero_grad();
        lp.total.backward();
        graphed.note_eager_step(x);
      }
      Tensor loss = lp.total;
      const double lv = loss.item();
      SDKD_CHECK(std::isfinite(lv), "non-finite training loss (", lv, ") at epoch ", epoch + 1, " step ", steps + 1,
                 "; the last good checkpoint is ", last_path, " (try a lower --lr or --grad-clip)");
      opt.set_lr(sched.lr_at(steps));
      if (cfg.grad_clip > 0) optim::clip_grad_norm(trainable, cfg.grad_clip);
      opt.step();
      ++steps;
      res.step_losses.push_back(lv);
      loss_sum += lv;
      ++batches;
      seen += x.size(0);
      if (part_sums.empty()) part_sums.assign(lp.parts.size(), {"", 0.0});
      std::string status = "loss " + fmt(loss_sum / double(batches));
      if (dev.is_cuda()) status += ", peak " + fmt(double(cuda_memory_stats(dev.index).peak_allocated) / 1048576.0, "%.0f") + " MiB";
      for (size_t i = 0; i < lp.parts.size() && i < part_sums.size(); ++i) {
        part_sums[i].first = lp.parts[i].first;
        part_sums[i].second += lp.parts[i].second;
        status += ", " + lp.parts[i].first + " " + fmt(part_sums[i].second / double(batches));
      }
      if (!cfg.quiet) bar.update(seen, status);
    }
    model.eval();
    const auto val = eval::evaluate([&](const Tensor& xb) { return model.forward(xb.to(dev)).pred; }, data, val_windows,
                                    cfg.batch_size);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.train_seconds += secs;
    res.history.push_back({epoch, loss_sum / double(std::max<int64_t>(batches, 1)), val.mse, secs});
    const bool improved = res.best_epoch < 0 || val.mse < res.best_val_mse;
    if (improved) {
      res.best_val_mse = val.mse;
      res.best_epoch = epoch;
      since_best = 0;
      save_checkpoint(best_path, model, nullptr,
                      {{"model", model_json.dump()}, {"epoch", std::to_string(epoch)},
                       {"val_mse", fmt(val.mse, "%.17g")}, {"data", data.name()}});
    } else {
      ++since_best;
    }
    if (!cfg.quiet) {
      bar.finish("train loss " + fmt(res.history.back().train_loss) + ", val mse " + fmt(val.mse) +
                 (improved ? " (best)" : ""));
    }
    save_run_state(last_path, model, hooks.extra, opt,
                   {{"model", model_json.dump()},
                     {"train", cfg.to_json().dump()},
                     {"epoch", std::to_string(epoch)},
                     {"best_val_mse", fmt(res.best_val_mse, "%.17g")},
                     {"best_epoch", std::to_string(res.best_epoch)},
                     {"train_seconds", fmt(res.train_seconds, "%.17g")},
                     {"history", history_json(res.history).dump()}});
    if (cfg.patience > 0 && since_best >= cfg.patience) {
      res.stopped_early = true;
      if (!cfg.quiet) std::fprintf(stderr, "early stop: no improvement for %lld epochs\n", (long long)cfg.patience);
      break;
    }
  }
  write_text_atomic((fs::path(cfg.out_dir) / "history.json").string(), history_json(res.history).dump(2) + "\n");
  return res;
}

}  // namespace sdkd::train
