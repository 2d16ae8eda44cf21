// The study's time left (train/study_progress.hpp) against the sums worked out by hand, and the
// per-epoch report (train/epoch_log.hpp) against the trainer's own history.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/toy.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/epoch_log.hpp"
#include "sdkd/train/study_progress.hpp"
#include "sdkd/train/trainer.hpp"

using namespace sdkd;
using Catch::Matchers::Contains;

TEST_CASE("study progress: time left is each key's mean epoch time times its epochs to run", "[train][progress]") {
  train::StudyProgress p;
  p.add_run("teacher_simvp", "teacher", 4);
  p.add_run("student_none_s0", "none", 3);
  p.add_run("student_sdkd_s0", "sdkd", 3);
  p.add_run("student_none_s1", "none", 3);
  CHECK(p.run_count() == 4);
  CHECK_FALSE(p.seconds_left().has_value());  // nothing measured yet
  p.begin_run("teacher_simvp", 0);
  CHECK(p.run_index() == 1);
  p.epoch_done(10);
  p.epoch_done(14);  // teacher mean 12 s, 2 epochs left
  bool approx = false;
  // Students borrow the mean over all epochs (12 s): 2 * 12 + 9 * 12.
  CHECK(*p.seconds_left(&approx) == Approx(2 * 12 + 9 * 12));
  CHECK(approx);
  p.epoch_done(12);
  p.epoch_done(12);
  p.end_run();
  p.begin_run("student_none_s0", 0);
  p.epoch_done(2);  // "none" known now (2 s); "sdkd" still borrows the mean of all 5 epochs (10 s)
  CHECK(*p.seconds_left(&approx) == Approx(2 * 2 + 3 * 10.0 + 3 * 2));
  CHECK(approx);
  p.epoch_done(4);
  p.end_run();  // early stop after 2 of 3 epochs: its last epoch is dropped
  p.begin_run("student_sdkd_s0", 0);
  CHECK(p.run_index() == 3);
  p.epoch_done(5);
  CHECK(*p.seconds_left(&approx) == Approx(2 * 5 + 3 * 3.0));  // none's mean is (2 + 4) / 2
  CHECK_FALSE(approx);
  // A resumed run counts only its remaining epochs; a skipped one none.
  p.end_run();
  p.begin_run("student_none_s1", 2);
  CHECK(*p.seconds_left() == Approx(1 * 3.0));
  p.skip_run("student_none_s1");
  CHECK(*p.seconds_left() == Approx(0));
  CHECK_THROWS_WITH(p.begin_run("student_ab_s0", 0), "study progress: run 'student_ab_s0' was not planned");

  // The run in progress is estimated by its own epochs, as its own ETA is: a slow second seed
  // (5 s an epoch against the first seed's 1 s) leaves 3 * 5 s, not 3 * the key's mean 1.8 s,
  // so the study never ends before the run does.
  train::StudyProgress q;
  q.add_run("a_s0", "a", 4);
  q.add_run("a_s1", "a", 4);
  q.begin_run("a_s0", 0);
  for (int e = 0; e < 4; ++e) q.epoch_done(1);
  q.end_run();
  q.begin_run("a_s1", 0);
  q.epoch_done(5);
  CHECK(*q.seconds_left() == Approx(3 * 5.0));
  CHECK_THROWS_WITH(p.add_run("teacher_simvp", "teacher", 1), "study progress: run 'teacher_simvp' planned twice");
}

TEST_CASE("the per-epoch JSON log holds what history.json holds, one object per epoch", "[train][progress]") {
  const test::TempDir dir("epochlog");
  const data::SequenceDataset ds = test::noise_flow(12, 4, 3, "noise");
  const auto split = data::split_indices(12, 1);
  train::TrainConfig cfg;
  cfg.epochs = 3;
  cfg.batch_size = 2;
  cfg.quiet = true;
  cfg.out_dir = dir / "run";
  cfg.log_json = dir / "log.jsonl";
  train::StudyProgress study;
  study.add_run("other", "x", 5);
  study.add_run(cfg.out_dir, "y", 3, "run");  // planned by its folder, logged by its label
  cfg.study = &study;
  auto model = test::toy_model(test::toy_unet_config(), 4);
  const auto res = train::train_forecaster(*model, ds, split, cfg);
  std::ifstream in(cfg.log_json);
  std::string line;
  size_t n = 0;
  double seconds = 0, best_so_far = 1e300;
  for (; std::getline(in, line); ++n) {
    REQUIRE(n < res.history.size());
    const auto j = nlohmann::json::parse(line);
    const auto& h = res.history[n];
    CHECK(j.at("run") == "run");
    CHECK(j.at("run_index") == 2);
    CHECK(j.at("runs") == 2);
    CHECK(j.at("epoch") == h.epoch + 1);
    CHECK(j.at("epochs") == 3);
    CHECK(j.at("train_loss").get<double>() == h.train_loss);  // the same double, not a rounding
    CHECK(j.at("val_mse").get<double>() == h.val_mse);
    CHECK(j.at("seconds").get<double>() == h.seconds);
    CHECK(j.at("best") == (h.val_mse < best_so_far));  // strictly below every earlier epoch
    best_so_far = std::min(best_so_far, h.val_mse);
    CHECK(j.at("samples") == int64_t(ds.windows(split.train).size()));
    CHECK(j.at("time").get<std::string>().size() == 20);  // 2026-12-02T14:42:06Z
    // Mean epoch time so far m: this run has 3 - epoch epochs left at m; the study's other run
    // never ran and borrows m for its 5.
    seconds += h.seconds;
    const double m = seconds / double(n + 1);
    CHECK(j.at("eta_run_s").get<double>() == Approx(double(2 - n) * m));
    CHECK(j.at("eta_study_s").get<double>() == Approx(double(2 - n) * m + 5 * m));
  }
  CHECK(n == res.history.size());
}

TEST_CASE("epoch status text: losses, validation, the run's and the study's time left", "[train][progress]") {
  train::EpochReport r;
  r.train_loss = 0.125;
  r.val_mse = 0.5;
  r.best = true;
  r.parts = {{"kd", 0.25}};
  r.run_left = 12.0;
  CHECK(train::epoch_status(r) == "train loss 0.125, kd 0.25, val mse 0.5 (best), ETA run 12.0s");
  r.runs = 3;
  CHECK(train::epoch_status(r) == "train loss 0.125, kd 0.25, val mse 0.5 (best), ETA run 12.0s, study ?");
  r.study_left = 190.0;
  r.study_approximate = true;
  CHECK(train::epoch_status(r) == "train loss 0.125, kd 0.25, val mse 0.5 (best), ETA run 12.0s, study ~3m10s");
  CHECK_THROWS_WITH(train::check_json_log("/nonexistent-folder/x.jsonl"), Contains("the folder /nonexistent-folder does not exist"));
}
