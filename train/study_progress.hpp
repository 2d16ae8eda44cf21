#pragma once
// Where a study of several training runs stands (sdkd demo: teachers, then each KD method over
// seeds), for the progress lines: "run 3/8" and the time left for the whole study.
//
// The estimate: each run has a cost key (runs of one key cost alike per epoch, e.g. every
// "student_sdkd" seed); the time left is the sum over the epochs still to run of their key's
// mean epoch time measured so far in this study. A key with no epoch yet borrows the mean over
// every epoch measured, and the estimate is then marked approximate.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdkd::train {

class StudyProgress {
 public:
  // Planned before the study starts, in the order the runs will train. name: the run's folder
  // as the trainer is given it (TrainConfig::out_dir); label: how the progress lines name it
  // ("student_sdkd_s0", "w4/student_sdkd_s0"), the name itself when empty.
  void add_run(const std::string& name, const std::string& cost_key, int64_t epochs, const std::string& label = "");

  // The trainer's calls: a run starts (at start_epoch when resumed), an epoch of it took
  // `seconds`, the run ended (early stopping drops the epochs it did not run).
  void begin_run(const std::string& name, int64_t start_epoch);
  void epoch_done(double seconds);
  void end_run();
  // A run that needs no training (a cached teacher).
  void skip_run(const std::string& name);

  int64_t run_index() const { return current_ + 1; }  // 1-based, 0 before any run began
  int64_t run_count() const { return int64_t(runs_.size()); }
  // The label of the run in progress ("" before any run began).
  const std::string& current_label() const;
  // Seconds left for the whole study: the run in progress at its own epochs' mean, the runs to
  // come at the mean epoch of their cost key (another key's where none is measured yet);
  // nullopt before any epoch has been measured. *approximate: some key's cost was borrowed.
  std::optional<double> seconds_left(bool* approximate = nullptr) const;

 private:
  struct Run {
    std::string name, key, label;
    int64_t epochs = 0, done = 0;  // done: epochs finished (or resumed past) so far
    double seconds = 0;             // summed over the epochs measured in this process
    int64_t measured = 0;
  };
  int64_t find(const std::string& name) const;
  std::vector<Run> runs_;
  int64_t current_ = -1;
};

}  // namespace sdkd::train
