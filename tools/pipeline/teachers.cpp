#include "tools/pipeline/teachers.hpp"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sdkd/atomic_file.hpp"
#include "tools/pipeline/checkpoint.hpp"
#include "tools/pipeline/training.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

std::shared_ptr<models::Forecaster> ensure_teacher(const nlohmann::json& preset, const nlohmann::json& teacher,
                                                    const data::SequenceDataset& ds, const std::string& dir,
                                                    double& train_seconds) {
  const nlohmann::json settings = {{"model", teacher.at("model")},
                                   {"train", teacher.at("train")},
                                   {"data", ds.name()},
                                   {"window", preset.value("window", nlohmann::json::object())},
                                   {"split_seed", preset.value("split_seed", 0)}};
  const std::string done = (fs::path(dir) / "done.json").string();
  if (fs::exists(done)) {
    const auto j = nlohmann::json::parse(read_text_file(done));
    if (j.at("settings") == settings) {
      std::fprintf(stderr, "reusing teacher %s (trained %.0f s, settings unchanged)\n", dir.c_str(),
                   j.at("train_seconds").get<double>());
      train_seconds = j.at("train_seconds").get<double>();
      return load_model((fs::path(dir) / "best.safetensors").string());
    }
    std::fprintf(stderr, "teacher settings changed: retraining %s\n", dir.c_str());
    fs::remove_all(dir);
  }
  nlohmann::json p = preset;
  p["model"] = teacher.at("model");
  p["train"] = teacher.at("train");
  const auto tm = train_from_preset(p, ds, dir, /*resume=*/true);  // a killed teacher run continues
  train_seconds = tm.result.train_seconds;
  write_text_atomic(done, nlohmann::json{{"settings", settings}, {"train_seconds", train_seconds}}.dump(2) + "\n");
  return load_model((fs::path(dir) / "best.safetensors").string());
}

}  // namespace sdkd::tools
