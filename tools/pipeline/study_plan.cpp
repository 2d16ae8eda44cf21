#include "tools/pipeline/study_plan.hpp"

#include <filesystem>
#include <set>

#include "sdkd/distill/distiller.hpp"
#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"
#include "tools/pipeline/presets.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

namespace {

// Arm and regime names become folder names (<out>/<regime>/student_<arm>_s<seed>), which a
// rerun with other settings deletes: plain names only.
void check_plain_name(const std::string& name, const std::string& where) {
  const bool plain = !name.empty() && name != "." && name != ".." &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                         std::string::npos;
  SDKD_CHECK(plain, where, ": the name '", name, "' names a folder: use letters, digits, '_', '-', '.'");
}

nlohmann::json merged(nlohmann::json base, const nlohmann::json& patch) {
  base.merge_patch(patch);
  return base;
}

// A patch is an object; null values delete keys (RFC 7386), which is allowed.
const nlohmann::json& patch_of(const nlohmann::json& j, const std::string& where) {
  static const nlohmann::json empty = nlohmann::json::object();
  return j.contains("patch") ? models::json_object(j["patch"], where, "patch") : empty;
}

// The entries of the list j[key], objects {name, ...}: each checked for its keys and for a
// plain name used once, then handed to add(entry, where, name).
template <class Add>
void for_each_named(const nlohmann::json& j, const std::string& file, const char* key,
                    const std::vector<std::string>& keys, Add add) {
  std::string fields;
  for (const auto& k : keys) fields += (fields.empty() ? "" : ", ") + k;
  SDKD_CHECK(j[key].is_array() && !j[key].empty(), file, ": key '", key,
             "' has the wrong type: expected a non-empty list of {", fields, "}");
  std::set<std::string> names;
  for (size_t i = 0; i < j[key].size(); ++i) {
    const auto& e = j[key][i];
    const std::string at = str_cat(file, ": ", key, "[", i, "]");
    models::json_object(e, at);
    models::check_keys(e, at, keys);
    const std::string name = models::json_string(models::json_required(e, at, "name"), at, "name");
    check_plain_name(name, at);
    SDKD_CHECK(names.insert(name).second, at, ": the name '", name, "' is used twice");
    add(e, at, name);
  }
}

// An arm running one KD method with the base's kd settings, named after it.
StudyArm method_arm(const std::string& method) {
  return {method, {{"kd", {{"method", method}}}}, {{"", nlohmann::json::object()}}};
}

}  // namespace

std::vector<StudyCandidate> grid_candidates(const nlohmann::json& grid, const std::string& where) {
  models::json_object(grid, where);
  std::vector<StudyCandidate> out{{"", nlohmann::json::object()}};
  for (const auto& [path, values] : grid.items()) {
    const std::string at = models::field_name(where, path);
    SDKD_CHECK(values.is_array() && !values.empty(), at, " must be a non-empty list of values, got ", values.dump());
    SDKD_CHECK(!path.empty() && path.front() != '.' && path.back() != '.' && path.find("..") == std::string::npos,
               where, ": '", path, "' is not a dotted path such as kd.lambda");
    std::vector<StudyCandidate> next;
    for (const auto& c : out)
      for (const auto& v : values) {
        StudyCandidate n = c;
        nlohmann::json* node = &n.patch;
        for (size_t b = 0, e; b <= path.size(); b = e + 1) {
          e = path.find('.', b);
          if (e == std::string::npos) e = path.size();
          node = &(*node)[path.substr(b, e - b)];
        }
        *node = v;
        n.label += (n.label.empty() ? "" : ",") + path + "=" + v.dump();
        next.push_back(std::move(n));
      }
    out = std::move(next);
  }
  return out;
}

nlohmann::json StudyPlan::regime_preset(size_t r) const { return merged(base, regimes.at(r).patch); }

nlohmann::json StudyPlan::run_preset(size_t r, size_t a, size_t c, int s) const {
  nlohmann::json p = merged(merged(regime_preset(r), arms.at(a).patch), arms[a].candidates.at(c).patch);
  const nlohmann::json& train = p.contains("train") ? p["train"] : nlohmann::json::object();
  const uint64_t seed0 = train.contains("seed") ? models::json_uint(train["seed"], "train", "seed") : 0;
  p["train"]["seed"] = seed0 + uint64_t(s);
  return p;
}

size_t StudyPlan::run_count() const {
  size_t per_seed = 0;
  for (const auto& a : arms) per_seed += a.candidates.size();
  return regimes.size() * size_t(seeds) * per_seed;
}

StudyPlan plan_from_preset(const nlohmann::json& preset, const std::vector<std::string>& methods, int seeds) {
  StudyPlan plan;
  plan.name = preset.value("name", std::string("custom"));
  plan.about = preset.value("about", std::string());
  plan.base = preset;
  plan.seeds = seeds;
  plan.regimes.push_back({"", nlohmann::json::object()});
  // study.grids: {"sdkd": {"kd.lambda": [0.1, 0.5]}}: that method's arm has one candidate per
  // combination, chosen on validation as in a study file (checked with the preset).
  const nlohmann::json grids = preset.value("study", nlohmann::json::object()).value("grids", nlohmann::json::object());
  for (const auto& m : methods) {
    plan.arms.push_back(method_arm(m));
    if (grids.contains(m)) plan.arms.back().candidates = grid_candidates(grids[m], "preset: study.grids." + m);
  }
  return plan;
}

StudyPlan load_study_plan(const std::string& file) {
  const nlohmann::json j = models::read_json_file(file);
  const std::string top = file + ":";
  models::json_object(j, top);
  models::check_keys(j, file, {"name", "about", "preset", "patch", "seeds", "regimes", "arms"});
  StudyPlan plan;
  plan.name = j.contains("name") ? models::json_string(j["name"], top, "name") : fs::path(file).stem().string();
  check_plain_name(plan.name, file + ": name");
  if (j.contains("about")) plan.about = models::json_string(j["about"], top, "about");
  // The base preset: embedded by name, or a file (relative to the config's folder when it is
  // not found as given).
  std::string preset = models::json_string(models::json_required(j, top, "preset"), top, "preset");
  if (!embedded_presets().count(preset) && !fs::exists(preset) && fs::exists(fs::path(file).parent_path() / preset))
    preset = (fs::path(file).parent_path() / preset).string();
  try {
    plan.base = merged(load_preset(preset), patch_of(j, top));
    check_preset(plan.base, file + ": preset with patch");
  } catch (const Error& e) {
    throw Error(str_cat(file, ": preset: ", e.what()));
  }
  const nlohmann::json study = plan.base.value("study", nlohmann::json::object());
  plan.seeds = j.contains("seeds") ? int(models::json_int(j["seeds"], top, "seeds", 1, 1000))
                                   : study.value("seeds", 1);

  if (j.contains("regimes")) {
    for_each_named(j, file, "regimes", {"name", "patch"}, [&](const nlohmann::json& rj, const std::string& at,
                                                              const std::string& name) {
      StudyRegime r{name, patch_of(rj, at)};
      // One data set and one test set per study: the regimes are compared on the same windows.
      for (const char* key : {"data", "window", "split_seed", "test", "eval"})
        SDKD_CHECK(!r.patch.contains(key), at, ": a regime may not change '", key,
                   "' (every regime of a study is scored on the same data and test windows)");
      plan.regimes.push_back(std::move(r));
    });
  } else {
    plan.regimes.push_back({"", nlohmann::json::object()});
  }

  if (j.contains("arms")) {
    for_each_named(j, file, "arms", {"name", "patch", "grid"}, [&](const nlohmann::json& aj, const std::string& at,
                                                                   const std::string& name) {
      StudyArm a{name, patch_of(aj, at), {}};
      // The arm "none" is the student alone, whatever the base preset distils with.
      if (a.name == "none" && !(a.patch.contains("kd") && a.patch["kd"].is_object() && a.patch["kd"].contains("method")))
        a.patch["kd"]["method"] = "none";
      a.candidates = aj.contains("grid") ? grid_candidates(aj["grid"], at + ": grid")
                                         : std::vector<StudyCandidate>{{"", nlohmann::json::object()}};
      plan.arms.push_back(std::move(a));
    });
  } else {
    for (const auto& m : study.value("methods", std::vector<std::string>{"none"})) plan.arms.push_back(method_arm(m));
  }
  bool has_reference = false;
  for (const auto& a : plan.arms) has_reference |= a.name == "none";
  SDKD_CHECK(has_reference, file, ": arms: one arm must be named \"none\": the student alone every other arm is ",
             "compared with");
  SDKD_CHECK(plan.run_count() <= 100000, file, ": the study has ", plan.run_count(), " runs (at most 100000)");

  // Every run's preset checked now, not after an hour of training.
  for (size_t r = 0; r < plan.regimes.size(); ++r)
    for (size_t a = 0; a < plan.arms.size(); ++a)
      for (size_t c = 0; c < plan.arms[a].candidates.size(); ++c) {
        const auto& arm = plan.arms[a];
        const std::string at = str_cat(file, ": ", plan.regimes[r].name.empty() ? "" : "regime " + plan.regimes[r].name + ", ",
                                       "arm ", arm.name, arm.candidates[c].label.empty() ? "" : " (" + arm.candidates[c].label + ")");
        const nlohmann::json p = plan.run_preset(r, a, c, 0);
        check_preset(p, at);
        const std::string method = p.value("kd", nlohmann::json::object()).value("method", std::string("none"));
        if (arm.name == "none")
          SDKD_CHECK(method == "none", at, ": the arm \"none\" is the student alone, so its kd.method must be \"none\", got '",
                     method, "'");
        SDKD_CHECK(method == "none" || !p.value("teachers", nlohmann::json::array()).empty(), at,
                   ": kd.method '", method, "' needs a teacher, and the preset has none");
      }
  return plan;
}

}  // namespace sdkd::tools
