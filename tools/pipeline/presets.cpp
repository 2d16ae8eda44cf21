#include "tools/pipeline/presets.hpp"
#include "tools/pipeline/study_plan.hpp"

#include <map>
#include <string>
#include <vector>

#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/error.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::tools {

namespace {

// In a preset file a key that is present must hold its type, null included (the commands read
// sections with nlohmann's value() and at(), which throw on null); an absent one is a default.
const nlohmann::json& section(const nlohmann::json& p, const std::string& top, const char* key) {
  static const nlohmann::json empty = nlohmann::json::object();
  return p.contains(key) ? models::json_object(p[key], top, key) : empty;
}

// A teacher entry: its model and train sections are required (it has no defaults of its own).
// Its name (or its model's) becomes the folder <out>/teacher_<name>, which a rerun with other
// settings deletes: only a plain name, no '/' that could point the deletion elsewhere.
void check_teacher(const nlohmann::json& t, const std::string& at) {
  models::json_object(t, at);
  models::check_keys(t, at, {"name", "model", "train"});
  const auto model = models::ModelConfig::from_json(models::json_required(t, at, "model"), at + ".model");
  train::TrainConfig::from_json(models::json_required(t, at, "train"), at + ".train");
  const std::string name = t.contains("name") ? models::json_string(t["name"], at, "name") : model.name;
  const bool plain = !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_-.") == std::string::npos;
  SDKD_CHECK(plain, at, ": the teacher's name '", name, "' names its folder: use letters, digits, '_', '-', '.'");
}

}  // namespace

nlohmann::json load_preset(const std::string& name) {
  const auto& presets = embedded_presets();
  nlohmann::json preset;
  std::string where = name;
  if (auto it = presets.find(name); it != presets.end()) {
    where = "preset '" + name + "'";
    preset = models::parse_json(it->second, where);
  } else if (name.find('/') != std::string::npos || name.find(".json") != std::string::npos) {
    preset = models::read_json_file(name);
  } else {
    std::string names;
    for (const auto& [k, v] : presets) names += (names.empty() ? "" : ", ") + k;
    throw Error(str_cat("unknown preset '", name, "' (available: ", names, "; or a path to a JSON file)"));
  }
  check_preset(preset, where);
  return preset;
}

namespace {
// The data settings that take one of a few names; the command line and presets share them.
const std::map<std::string, std::vector<std::string>>& data_choices() {
  static const std::map<std::string, std::vector<std::string>> choices = {{"normalize", {"none", "zscore"}},
                                                                          {"loader", {"auto", "ram", "stream"}}};
  return choices;
}
}  // namespace

std::string data_choice_problem(const std::string& key, const std::string& value) {
  const auto it = data_choices().find(key);
  if (it == data_choices().end()) return "";
  std::string list;
  for (const auto& n : it->second) {
    if (value == n) return "";
    list += (list.empty() ? "" : ", ") + n;
  }
  return str_cat("must be one of ", list, ", got '", value, "'");
}

void check_data_section(const nlohmann::json& data, const std::string& where) {
  const std::string at = where + ": data";
  // Every data setting is a string.
  static const std::vector<std::string> keys = {"generator", "preset", "file", "var", "layout", "normalize", "loader"};
  models::check_keys(data, at, keys);
  for (const auto& key : keys)
    if (data.contains(key)) models::json_string(data[key], at, key);
  for (const auto& [key, names] : data_choices()) {
    if (!data.contains(key)) continue;
    const std::string problem = data_choice_problem(key, data[key].get<std::string>());
    SDKD_CHECK(problem.empty(), models::field_name(at, key), " ", problem);
  }
}

void check_preset(const nlohmann::json& p, const std::string& where) {
  const std::string top = where + ":";
  models::json_object(p, top);
  // A typo ("windw", "output_frame") would otherwise be ignored and the default used.
  models::check_keys(p, where, {"name", "about", "data", "window", "split_seed", "model", "train", "teachers", "kd",
                                "study", "eval", "test"});
  models::check_keys(section(p, top, "window"), where + ": window", {"input_frames", "output_frames", "stride"});
  models::check_keys(section(p, top, "study"), where + ": study", {"seeds", "methods", "grids"});
  models::check_keys(section(p, top, "eval"), where + ": eval", {"batch_size"});
  for (const char* key : {"name", "about"})
    if (p.contains(key)) models::json_string(p[key], top, key);
  if (p.contains("split_seed")) models::json_uint(p["split_seed"], top, "split_seed");
  check_data_section(section(p, top, "data"), where);
  // Window frames share the models' in_frames/out_frames range.
  const auto& window = section(p, top, "window");
  for (const char* key : {"input_frames", "output_frames", "stride"})
    if (window.contains(key)) models::json_int(window[key], where + ": window", key, 1, 1000);
  models::ModelConfig::from_json(section(p, top, "model"), where + ": model");
  train::TrainConfig::from_json(section(p, top, "train"), where + ": train");
  distill::KDConfig::from_json(section(p, top, "kd"), where + ": kd");
  if (p.contains("teachers")) {
    const auto& ts = p["teachers"];
    SDKD_CHECK(ts.is_array(), where, ": key 'teachers' has the wrong type: expected a list of {name, model, train}");
    for (size_t i = 0; i < ts.size(); ++i) check_teacher(ts[i], str_cat(where, ": teachers[", i, "]"));
  }
  const auto& study = section(p, top, "study");
  if (study.contains("seeds")) models::json_int(study["seeds"], where + ": study", "seeds", 1, 1000);
  if (study.contains("methods"))
    for (const auto& m : models::json_strings(study["methods"], where + ": study", "methods")) try {
        distill::parse_kd_method(m);
      } catch (const Error& e) {
        throw Error(str_cat(where, ": study.methods: ", e.what()));
      }
  // study.grids: per method a grid of dotted kd paths (tools/pipeline/study_plan.hpp), every
  // candidate's kd section checked as a whole.
  if (study.contains("grids"))
    for (const auto& [method, grid] : models::json_object(study["grids"], where + ": study", "grids").items()) {
      const std::string at = where + ": study.grids." + method;
      try {
        distill::parse_kd_method(method);
      } catch (const Error& e) {
        throw Error(str_cat(at, ": ", e.what()));
      }
      for (const auto& c : grid_candidates(grid, at)) {
        for (const auto& [path, v] : c.patch.items())
          SDKD_CHECK(path == "kd", at, ": grids vary kd settings only (kd.lambda, kd.cutoffs, ...), not '", path, "'");
        nlohmann::json kd = section(p, top, "kd");
        kd.merge_patch(c.patch.value("kd", nlohmann::json::object()));
        kd["method"] = method;
        try {
          (void)distill::KDConfig::from_json(kd, "kd");
        } catch (const Error& e) {
          throw Error(str_cat(at, " (", c.label, "): ", e.what()));
        }
      }
    }
  // An extra test file generated like the data but from another seed (tools/cmd_demo.cpp).
  const auto& test = section(p, top, "test");
  models::check_keys(test, where + ": test", {"file", "trajectories", "seed"});
  if (!test.empty()) {
    for (const char* key : {"file", "trajectories", "seed"}) models::json_required(test, where + ": test", key);
    models::json_string(test["file"], where + ": test", "file");
    models::json_int(test["trajectories"], where + ": test", "trajectories", 1, 1000000);
    models::json_uint(test["seed"], where + ": test", "seed");
    const auto& data = section(p, top, "data");
    SDKD_CHECK(data.value("generator", std::string()) == "ns", where,
               ": test: extra test trajectories are generated, so data.generator must be \"ns\"");
  }
  const auto& eval = section(p, top, "eval");
  if (eval.contains("batch_size"))
    models::json_int(eval["batch_size"], where + ": eval", "batch_size", 1, train::kMaxBatchSize);
}

uint64_t split_seed(const nlohmann::json& preset) {
  return preset.contains("split_seed") ? models::json_uint(preset["split_seed"], "preset:", "split_seed") : 0;
}

}  // namespace sdkd::tools
