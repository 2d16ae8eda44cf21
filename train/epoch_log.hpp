#pragma once
// What the trainer reports after each epoch: the text of its progress line (losses, validation,
// and the time left for the run and for the study), and for scripts (--log-json) the same as
// one JSON object per line, appended to a file or written to stdout ("-").
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sdkd::train {

struct EpochReport {
  std::string run;                 // the run folder's name
  int64_t run_index = 1, runs = 1;  // its place in the study (1 of 1 for a lone run)
  int64_t epoch = 0, epochs = 0;   // 1-based
  int64_t samples = 0;
  double seconds = 0, lr = 0, train_loss = 0, val_mse = 0;
  bool best = false;
  std::vector<std::pair<std::string, double>> parts;  // loss parts, means over the epoch
  std::optional<double> run_left, study_left;         // seconds
  bool study_approximate = false;
};

// "train loss 0.12, val mse 0.2 (best), ETA run 12s, study ~3m10s" (study only for a study).
std::string epoch_status(const EpochReport& r);
// {"time": "...Z", "run": ..., "run_index", "runs", "epoch", "epochs", "samples", "seconds",
//  "lr", "train_loss", <parts>, "val_mse", "best", "eta_run_s", "eta_study_s"} (ETAs null when
//  not known yet).
nlohmann::json epoch_json(const EpochReport& r);
// Appends one line: `path` "-" is stdout. A file that cannot be opened is an sdkd::Error
// naming it (checked before any work by check_json_log).
void append_json_line(const std::string& path, const nlohmann::json& j);
void check_json_log(const std::string& path);

}  // namespace sdkd::train
