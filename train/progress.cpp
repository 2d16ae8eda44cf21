#include "sdkd/train/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <sstream>

namespace sdkd::train {

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string format_number(double v, const char* f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string format_duration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(fileno(stderr))),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && done_ > 0) finish();
}

void ProgressBar::update(int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : 60.0) || done >= total_) return;  // the last one is finish()'s
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish(const std::string& status) {
  if (!status.empty()) status_ = status;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? double(done_) / elapsed : 0;
  const double eta = rate > 0 ? double(total_ - done_) / rate : 0;
  std::ostringstream os;
  os << label_ << ' ';
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? int(kWidth * done_ / total_) : kWidth;
    os << '[' << std::string(size_t(filled), '#') << std::string(size_t(kWidth - filled), '.') << "] ";
  }
  char rbuf[32];
  std::snprintf(rbuf, sizeof rbuf, "%.2f", rate);
  os << done_ << '/' << total_ << ' ' << unit_ << ", " << rbuf << ' ' << unit_ << "/s, ";
  os << (final_line ? "took " + format_duration(elapsed) : "ETA " + format_duration(eta));
  if (!status_.empty()) os << ", " << status_;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", os.str().c_str(), final_line ? "\n" : "");
  else std::fprintf(stderr, "%s %s\n", utc_timestamp().c_str(), os.str().c_str());
  std::fflush(stderr);
}

}  // namespace sdkd::train
