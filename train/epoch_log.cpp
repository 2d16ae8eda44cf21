#include "sdkd/train/epoch_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/progress.hpp"

namespace sdkd::train {

namespace {
nlohmann::json seconds_or_null(const std::optional<double>& s) { return s ? nlohmann::json(*s) : nlohmann::json(); }
}  // namespace

std::string epoch_status(const EpochReport& r) {
  std::string s = "train loss " + format_number(r.train_loss);
  for (const auto& [name, v] : r.parts) s += ", " + name + " " + format_number(v);
  s += ", val mse " + format_number(r.val_mse) + (r.best ? " (best)" : "");
  if (r.run_left) s += ", ETA run " + format_duration(*r.run_left);
  if (r.runs > 1)
    s += r.study_left ? ", study " + std::string(r.study_approximate ? "~" : "") + format_duration(*r.study_left)
                      : ", study ?";
  return s;
}

nlohmann::json epoch_json(const EpochReport& r) {
  nlohmann::json j = {{"time", utc_timestamp()}, {"run", r.run},       {"run_index", r.run_index},
                      {"runs", r.runs},          {"epoch", r.epoch},   {"epochs", r.epochs},
                      {"samples", r.samples},    {"seconds", r.seconds}, {"lr", r.lr},
                      {"train_loss", r.train_loss}};
  for (const auto& [name, v] : r.parts) j[name] = v;
  j["val_mse"] = r.val_mse;
  j["best"] = r.best;
  j["eta_run_s"] = seconds_or_null(r.run_left);
  j["eta_study_s"] = seconds_or_null(r.study_left);
  return j;
}

void check_json_log(const std::string& path) {
  if (path == "-") return;
  namespace fs = std::filesystem;
  std::error_code ec;
  SDKD_CHECK(!fs::is_directory(path, ec), "--log-json ", path, ": is a folder, expected a file to append to");
  const fs::path parent = fs::path(path).parent_path();
  SDKD_CHECK(parent.empty() || fs::is_directory(parent, ec), "--log-json ", path, ": the folder ", parent.string(),
             " does not exist");
  check_output_dir(parent.empty() ? "." : parent.string());
}

void append_json_line(const std::string& path, const nlohmann::json& j) {
  const std::string line = j.dump() + "\n";
  if (path == "-") {
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    return;
  }
  std::FILE* f = std::fopen(path.c_str(), "a");
  SDKD_CHECK(f, "--log-json ", path, ": cannot open for appending: ", std::strerror(errno));
  const bool ok = std::fputs(line.c_str(), f) >= 0;
  const bool closed = std::fclose(f) == 0;
  SDKD_CHECK(ok && closed, "--log-json ", path, ": write failed (disk full?)");
}

}  // namespace sdkd::train
