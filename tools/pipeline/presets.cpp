#include "tools/pipeline/presets.hpp"

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::tools {

nlohmann::json load_preset(const std::string& name) {
  const auto& presets = embedded_presets();
  std::string text;
  std::string where = name;
  if (auto it = presets.find(name); it != presets.end()) {
    text = it->second;
    where = "preset '" + name + "'";
  } else if (name.find('/') != std::string::npos || name.find(".json") != std::string::npos) {
    text = read_text_file(name);
  } else {
    std::string names;
    for (const auto& [k, v] : presets) names += (names.empty() ? "" : ", ") + k;
    throw Error(str_cat("unknown preset '", name, "' (available: ", names, "; or a path to a JSON file)"));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(where, ": not valid JSON: ", e.what()));
  }
}

}  // namespace sdkd::tools
