#include "sdkd/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "sdkd/eval/metrics.hpp"
#include "sdkd/models/checkpoint_model.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/cuda_graph.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/schedule.hpp"
#include "sdkd/distributed/grad_reducer.hpp"
#include "sdkd/distributed/process_group.hpp"
#include "sdkd/train/data_parallel.hpp"
#include "sdkd/train/epoch_log.hpp"
#include "sdkd/train/progress.hpp"
#include "sdkd/train/run_state.hpp"

namespace sdkd::train {

namespace fs = std::filesystem;

namespace {

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
  // x and y in the data's units: the model's normalisation is part of the captured graph.
  Tensor run(models::Forecaster& model, const std::vector<Tensor>& params, const Tensor& x, const Tensor& y) {
    if (!graph_) {
      gx_ = Tensor::zeros(x.shape(), x.dtype(), dev_);
      gy_ = Tensor::zeros(y.shape(), y.dtype(), dev_);
      graph_ = std::make_unique<CudaGraph>(dev_);
      graph_->capture([&] {
        for (auto p : params) p.zero_grad();
        const auto& norm = model.normalization();
        Tensor l = mse_loss(model.forward(norm.to_model(gx_)).pred, norm.to_model(gy_));
        l.backward();
        loss_ = l.detach();
      });
      for (const auto& p : params) grads_.push_back(p.grad());
    }
    gx_.copy_(x);
    gy_.copy_(y);
    graph_->replay();
    for (size_t k = 0; k < params.size(); ++k) params[k].set_grad(grads_[k]);
    return loss_;
  }

 private:
  Device dev_;
  int64_t batch_;
  int64_t eager_full_ = 0;
  std::unique_ptr<CudaGraph> graph_;
  Tensor gx_, gy_, loss_;
  std::vector<Tensor> grads_;  // the captured graph's gradient buffers
};

// Where a run stopped by a non-finite value can go back to: its last.safetensors only when
// this run has one (resumed from it or written after an epoch); an older run's file, or none,
// must not be offered as "the last good checkpoint".
// "nan", "inf", "-inf" (printf would say -nan for some NaNs).
std::string shown(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

[[noreturn]] void non_finite(const std::string& what, const std::string& when, bool have_checkpoint,
                             const std::string& last_path) {
  throw Error(str_cat("non-finite ", what, " ", when, "; ",
                      have_checkpoint ? "the last good checkpoint is " + last_path
                                      : std::string("no checkpoint has been written yet"),
                      " (try a lower --lr or --grad-clip)"));
}

}  // namespace

void check_run_folder(const std::string& dir, bool resume) {
  check_output_dir(dir);
  // Another run's checkpoints are never trained over: continuing is --resume, the rest is the
  // user's to delete.
  for (const char* held : {"last.safetensors", "best.safetensors"})
    SDKD_CHECK(resume || !fs::exists(fs::path(dir) / held), dir, ": holds another run (", held,
               "); pass --resume to continue it, or remove it or choose another --out");
}

std::vector<int64_t> training_trajectories(const data::Split& split, const TrainConfig& cfg) {
  if (cfg.trajectories == 0) return split.train;
  SDKD_CHECK(size_t(cfg.trajectories) <= split.train.size(), "train.trajectories ", cfg.trajectories,
             " is more than the training split holds (", split.train.size(),
             " trajectories); ask for at most that many, or 0 for all");
  return {split.train.begin(), split.train.begin() + cfg.trajectories};
}

TrainResult train_forecaster(models::Forecaster& model, const data::SequenceDataset& data, const data::Split& split,
                             const TrainConfig& cfg_in, const TrainHooks& hooks) {
  cfg_in.validate();  // before anything divides by the batch size
  (void)training_trajectories(split, cfg_in);  // and before the folder is made
  SDKD_CHECK(!cfg_in.out_dir.empty(), "training needs an output folder (--out)");
  const Device dev = model.device();
  SDKD_CHECK(!cfg_in.cuda_graph || dev.is_cuda(), "--cuda-graph needs the model on a CUDA device (--device cuda)");
  // Several processes: rank 0 alone writes and prints; every rank trains its part of each batch.
  dist::ProcessGroup& group = dist::world();
  // Launched by mpirun/srun, with one rank too: a 1-rank run takes the same path (broadcast,
  // reducer, sharded validation) and must match the plain run to rounding.
  const bool dp = group.size() > 1 || group.launch().launcher != "none", main_rank = group.is_main();
  SDKD_CHECK(!dp || !cfg_in.cuda_graph, "--cuda-graph runs in a single process; leave it out under mpirun/srun");
  TrainConfig cfg = cfg_in;
  cfg.quiet = cfg_in.quiet || !main_rank;
  if (!main_rank) cfg.log_json.clear();
  check_run_folder(cfg.out_dir, cfg.resume);
  const std::string last_path = (fs::path(cfg.out_dir) / "last.safetensors").string();
  const std::string best_path = (fs::path(cfg.out_dir) / "best.safetensors").string();
  if (main_rank) make_output_dir(cfg.out_dir);

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

  const models::DataNormalization& norm = model.normalization();
  TrainResult res;
  int64_t start_epoch = 0;
  bool have_checkpoint = false;  // this run's last.safetensors exists (see non_finite)
  if (cfg.resume && fs::exists(last_path)) {
    const RunState st = load_run_state(last_path, model, hooks.extra, opt);
    // The statistics come from the training split: other ones mean other data or settings.
    SDKD_CHECK(st.normalization.matches(norm), last_path, ": this run was trained with normalisation ",
               st.normalization.describe(), ", but resuming it now would use ", norm.describe(),
               "; resume with the same data, split and --normalize");
    start_epoch = st.epoch + 1;
    res.best_val_mse = st.best_val_mse;
    res.best_epoch = st.best_epoch;
    res.train_seconds = st.train_seconds;
    res.history = st.history;
    have_checkpoint = true;
    if (!cfg.quiet) std::fprintf(stderr, "resuming %s at epoch %lld\n", last_path.c_str(), (long long)start_epoch);
  }
  std::unique_ptr<dist::GradReducer> reducer;
  if (dp) {
    // Every rank read the same last.safetensors (a shared run folder) or made the same model
    // from the seed; rank 0's copy is sent anyway, so the replicas start bit-identical.
    check_same_start(group, start_epoch, last_path);
    broadcast_module(group, model);
    if (hooks.extra) broadcast_module(group, *hooks.extra);
    if (cfg.sync_batchnorm) nn::sync_batch_norms(model, dist::world_ptr());
    reducer = std::make_unique<dist::GradReducer>(group.channel(), trainable, cfg.bucket_kb * 1024);
    if (!cfg.quiet)
      std::fprintf(stderr, "data parallel: %d ranks (%s), batch %lld per rank = %lld per step, %s BatchNorm, %lld "
                   "gradient bucket(s) of <= %lld KiB\n", group.size(), group.backend().c_str(),
                   (long long)cfg.batch_size, (long long)(cfg.batch_size * group.size()),
                   cfg.sync_batchnorm ? "synchronised" : "local", (long long)reducer->stats().buckets,
                   (long long)cfg.bucket_kb);
  }

  const auto train_windows = data.windows(training_trajectories(split, cfg)), val_windows = data.windows(split.val);
  SDKD_CHECK(!train_windows.empty() && !val_windows.empty(), data.name(), ": no training or validation windows");
  optim::LrSchedule sched;
  sched.kind = optim::LrSchedule::parse_kind(cfg.schedule);
  sched.base_lr = cfg.lr;
  // Steps of the global batch (BatchIterator::num_batches: a remainder smaller than the ranks is left out).
  const int64_t global_batch = cfg.batch_size * group.size(), n_train = int64_t(train_windows.size());
  sched.total_steps = cfg.epochs * (n_train / global_batch + (n_train % global_batch >= group.size() ? 1 : 0));
  sched.warmup_steps = cfg.warmup_steps;
  sched.min_lr = cfg.min_lr;
  // Distillation hooks read losses back to the host inside the step: they run eagerly.
  const bool use_graph = cfg.cuda_graph && !hooks.loss;
  if (cfg.cuda_graph && hooks.loss && !cfg.quiet) std::fprintf(stderr, "cuda graph: distillation steps run eagerly\n");
  GraphedStep graphed(dev, cfg.batch_size);
  if (!cfg.log_json.empty()) check_json_log(cfg.log_json);
  // A study plans its runs by their folders (train/study_progress.hpp).
  if (cfg.study) cfg.study->begin_run(cfg.out_dir, start_epoch);
  // "[run 3/8 student_sdkd_s0] " in a study, nothing for a lone run.
  const std::string prefix =
      cfg.study ? str_cat("[run ", cfg.study->run_index(), "/", cfg.study->run_count(), " ", cfg.study->current_label(), "] ")
                : "";
  double session_seconds = 0;  // this process's epochs: the run's ETA
  int64_t session_epochs = 0;
  int64_t steps = opt.steps();
  int64_t since_best = res.best_epoch >= 0 ? int64_t(res.history.size()) - 1 - res.best_epoch : 0;

  for (int64_t epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    model.train();
    if (hooks.extra) hooks.extra->train();
    if (hooks.begin_epoch) hooks.begin_epoch(epoch, cfg.epochs);
    data::BatchIterator it(data, train_windows, cfg.batch_size, /*shuffle=*/true, cfg.seed, epoch,
                           /*pinned=*/dev.is_cuda(), data::Shard{group.rank(), group.size()});
    ProgressBar bar(str_cat(prefix, "epoch ", epoch + 1, "/", cfg.epochs), int64_t(train_windows.size()), "samples");
    Tensor x, y;
    double loss_sum = 0;
    std::vector<std::pair<std::string, double>> part_sums;
    int64_t batches = 0, seen = 0;
    while (it.next(x, y)) {
      // This rank's part of the global batch (1 alone): its loss times the share, summed over the
      // ranks, is the global batch's loss, so the summed gradients are that loss's gradients.
      const double share = dp ? double(x.size(0)) / double(it.global_batch_size()) : 1.0;
      LossParts lp;
      if (use_graph && graphed.fits(x)) {
        lp.total = graphed.run(model, trainable, x, y);  // forward + backward already done
      } else {
        // The model's scale (z-scored when it carries a normalisation): the loss, the
        // distillation terms and the teachers all see what the model sees.
        const Tensor xd = norm.to_model(x.to(dev)), yd = norm.to_model(y.to(dev));
        const models::ModelOutput out = model.forward(xd);
        lp = hooks.loss ? hooks.loss(xd, yd, out, it.batch_windows()) : LossParts{mse_loss(out.pred, yd), {}};
        opt.zero_grad();
        if (dp) {
          lp.total.backward(Tensor::full(lp.total.shape(), share, lp.total.dtype(), lp.total.device()), false,
                            reducer->hook());
          reducer->finish();
        } else {
          lp.total.backward();
        }
        graphed.note_eager_step(x);
      }
      Tensor loss = lp.total;
      double lv = loss.item();
      if (dp) {  // the global batch's loss and parts, the same on every rank
        std::vector<double> v{lv * share};
        for (const auto& [name, value] : lp.parts) v.push_back(value * share);
        v = group.sum(v);
        lv = v[0];
        for (size_t i = 0; i < lp.parts.size(); ++i) lp.parts[i].second = v[i + 1];
      }
      if (!std::isfinite(lv))
        non_finite("training loss (" + shown(lv) + ")", str_cat("at epoch ", epoch + 1, " step ", steps + 1), have_checkpoint, last_path);
      opt.set_lr(sched.lr_at(steps));
      if (cfg.grad_clip > 0) optim::clip_grad_norm(trainable, cfg.grad_clip);
      opt.step();
      ++steps;
      res.step_losses.push_back(lv);
      loss_sum += lv;
      ++batches;
      seen += dp ? it.global_batch_size() : x.size(0);
      if (part_sums.empty()) part_sums.assign(lp.parts.size(), {"", 0.0});
      std::string status = "loss " + format_number(loss_sum / double(batches));
      if (dev.is_cuda()) status += ", peak " + format_number(double(cuda_memory_stats(dev.index).peak_allocated) / 1048576.0, "%.0f") + " MiB";
      for (size_t i = 0; i < lp.parts.size() && i < part_sums.size(); ++i) {
        part_sums[i].first = lp.parts[i].first;
        part_sums[i].second += lp.parts[i].second;
        status += ", " + lp.parts[i].first + " " + format_number(part_sums[i].second / double(batches));
      }
      if (!cfg.quiet) bar.update(seen, status);
    }
    model.eval();
    if (dp) {
      if (!cfg.sync_batchnorm) broadcast_buffers(group, model);  // validate and save rank 0's statistics
      check_replicas_agree(group, model, str_cat("after epoch ", epoch + 1));
    }
    // In the data's units, as every metric (Forecaster::predict undoes the normalisation); with
    // several ranks each scores its shard of the windows.
    eval::ForecastMetrics val;
    if (dp) val.mse = sharded_validation_mse(group, model, data, val_windows, cfg.batch_size);
    else val = eval::evaluate([&](const Tensor& xb) { return model.predict(xb.to(dev)); }, data, val_windows, cfg.batch_size);
    // A diverged model must not become best.safetensors or last.safetensors, even when its
    // validation MSE happens to be finite (a non-finite weight the forecasts do not reach).
    if (!std::isfinite(val.mse))
      non_finite("validation MSE (" + shown(val.mse) + ")", str_cat("after epoch ", epoch + 1), have_checkpoint, last_path);
    if (const std::string bad = first_non_finite(model.state_dict()); !bad.empty())
      non_finite("weights (tensor " + bad + ")", str_cat("after epoch ", epoch + 1),
                 have_checkpoint, last_path);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.train_seconds += secs;
    res.history.push_back({epoch, loss_sum / double(std::max<int64_t>(batches, 1)), val.mse, secs});
    const bool improved = res.best_epoch < 0 || val.mse < res.best_val_mse;
    if (improved) {
      res.best_val_mse = val.mse;
      res.best_epoch = epoch;
      since_best = 0;
      if (main_rank)
        models::save_forecaster(best_path, model,
                              {{"epoch", std::to_string(epoch)}, {"val_mse", format_number(val.mse, "%.17g")},
                               {"data", data.name()}});
    } else {
      ++since_best;
    }
    session_seconds += secs;
    ++session_epochs;
    if (cfg.study) cfg.study->epoch_done(secs);
    EpochReport report;
    report.run = cfg.study ? cfg.study->current_label() : fs::path(cfg.out_dir).filename().string();
    if (cfg.study) report.run_index = cfg.study->run_index(), report.runs = cfg.study->run_count();
    report.epoch = epoch + 1;
    report.epochs = cfg.epochs;
    report.samples = seen;
    report.seconds = secs;
    report.lr = sched.lr_at(std::max<int64_t>(steps - 1, 0));
    report.train_loss = res.history.back().train_loss;
    report.val_mse = val.mse;
    report.best = improved;
    for (const auto& [name, sum] : part_sums) report.parts.emplace_back(name, sum / double(std::max<int64_t>(batches, 1)));
    report.run_left = double(cfg.epochs - epoch - 1) * session_seconds / double(session_epochs);
    if (cfg.study) report.study_left = cfg.study->seconds_left(&report.study_approximate);
    if (!cfg.quiet) bar.finish(epoch_status(report));
    if (!cfg.log_json.empty()) append_json_line(cfg.log_json, epoch_json(report));
    Metadata last_meta = models::forecaster_metadata(model);
    last_meta["train"] = cfg.to_json().dump();
    if (dp) last_meta["world_size"] = std::to_string(group.size());  // resuming may use another
    // The normalization is written through last_meta; RunState's field is what a load reads back.
    if (main_rank)
      save_run_state(last_path, model, hooks.extra, opt, last_meta,
                     {epoch, res.best_val_mse, res.best_epoch, res.train_seconds, res.history, {}});
    have_checkpoint = true;
    if (cfg.patience > 0 && since_best >= cfg.patience) {
      res.stopped_early = true;
      if (!cfg.quiet) std::fprintf(stderr, "early stop: no improvement for %lld epochs\n", (long long)cfg.patience);
      break;
    }
  }
  if (cfg.study) cfg.study->end_run();
  if (reducer && !cfg.quiet && reducer->stats().steps > 0) {
    // How much of the gradient traffic hid behind backward (docs/DISTRIBUTED.md, "Checking scaling").
    const auto& st = reducer->stats();
    std::fprintf(stderr, "data parallel: %lld steps, %lld of %lld buckets started during backward, %.3g ms per step "
                 "waiting for gradients after backward\n", (long long)st.steps, (long long)st.started_in_backward,
                 (long long)(st.buckets * st.steps), 1e3 * st.finish_wait_seconds / double(st.steps));
  }
  if (main_rank)
    write_text_atomic((fs::path(cfg.out_dir) / "history.json").string(), history_json(res.history).dump(2) + "\n");
  // No rank goes on (to a test set, a report) before rank 0's files are complete.
  if (dp) group.barrier();
  return res;
}

}  // namespace sdkd::train
