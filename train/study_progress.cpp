#include "sdkd/train/study_progress.hpp"

#include <algorithm>
#include <map>

#include "sdkd/error.hpp"

namespace sdkd::train {

namespace {
struct Mean {
  double sum = 0;
  int64_t n = 0;
};
}  // namespace

void StudyProgress::add_run(const std::string& name, const std::string& cost_key, int64_t epochs,
                            const std::string& label) {
  SDKD_CHECK(find(name) < 0, "study progress: run '", name, "' planned twice");
  SDKD_CHECK(epochs >= 0, "study progress: run '", name, "' with ", epochs, " epochs");
  runs_.push_back({name, cost_key, label.empty() ? name : label, epochs, 0, 0.0, 0});
}

const std::string& StudyProgress::current_label() const {
  static const std::string none;
  return current_ >= 0 ? runs_[size_t(current_)].label : none;
}

int64_t StudyProgress::find(const std::string& name) const {
  for (size_t i = 0; i < runs_.size(); ++i)
    if (runs_[i].name == name) return int64_t(i);
  return -1;
}

void StudyProgress::begin_run(const std::string& name, int64_t start_epoch) {
  const int64_t i = find(name);
  SDKD_CHECK(i >= 0, "study progress: run '", name, "' was not planned");
  current_ = i;
  runs_[size_t(i)].done = std::min(start_epoch, runs_[size_t(i)].epochs);
}

void StudyProgress::epoch_done(double seconds) {
  SDKD_CHECK(current_ >= 0, "study progress: an epoch outside a run");
  Run& r = runs_[size_t(current_)];
  if (r.done < r.epochs) ++r.done;
  r.seconds += seconds;
  ++r.measured;
}

void StudyProgress::end_run() {
  if (current_ >= 0) runs_[size_t(current_)].epochs = runs_[size_t(current_)].done;
}

void StudyProgress::skip_run(const std::string& name) {
  const int64_t i = find(name);
  SDKD_CHECK(i >= 0, "study progress: run '", name, "' was not planned");
  runs_[size_t(i)].epochs = runs_[size_t(i)].done = 0;
}

std::optional<double> StudyProgress::seconds_left(bool* approximate) const {
  std::map<std::string, Mean> by_key;
  Mean all;
  for (const auto& r : runs_) {
    if (r.measured == 0) continue;
    by_key[r.key].sum += r.seconds, by_key[r.key].n += r.measured;
    all.sum += r.seconds, all.n += r.measured;
  }
  if (all.n == 0) return std::nullopt;
  bool borrowed = false;
  double left = 0;
  for (size_t i = 0; i < runs_.size(); ++i) {
    const Run& r = runs_[i];
    const int64_t todo = r.epochs - r.done;
    if (todo <= 0) continue;
    // The run in progress by its own epochs, as its own ETA is (its key's mean would mix in
    // other seeds' runs, and the study could then end before the run does).
    if (int64_t(i) == current_ && r.measured > 0) {
      left += double(todo) * (r.seconds / double(r.measured));
      continue;
    }
    const auto it = by_key.find(r.key);
    const bool known = it != by_key.end();
    borrowed = borrowed || !known;
    left += double(todo) * (known ? it->second.sum / double(it->second.n) : all.sum / double(all.n));
  }
  if (approximate) *approximate = borrowed;
  return left;
}

}  // namespace sdkd::train
