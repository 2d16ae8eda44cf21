#pragma once
// A progress bar with rate and ETA on a terminal; on a pipe or file (a log) it prints plain
// lines with a timestamp instead: the final one, and one a minute while the work is long.
#include <chrono>
#include <cstdint>
#include <string>

namespace sdkd::train {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::string unit = "it");
  ~ProgressBar();
  // Reports `done` of `total` finished, with a short status text (loss parts, ...).
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  void draw(bool final_line);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1m23s" / "4.2s"
std::string format_duration(double seconds);
// v through printf's format f (one double conversion: "%.5g" for log lines, "%.17g" exact).
std::string format_number(double v, const char* f = "%.5g");

// The current time as "2026-12-02T14:42:06Z" (UTC), for log lines.
std::string utc_timestamp();

}  // namespace sdkd::train
