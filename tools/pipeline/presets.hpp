#pragma once
// Presets: the configs/*.json compiled into the binary, or a JSON file of the same layout.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sdkd::tools {

// Generated from configs/*.json at build time (cmake/EmbedPresets.cmake), keyed by file stem.
const std::map<std::string, std::string>& embedded_presets();

// A preset by name (embedded) or a path to a JSON file of the same layout; an unknown name
// or malformed JSON is one sdkd::Error naming the preset and the choices.
nlohmann::json load_preset(const std::string& name_or_path);

}  // namespace sdkd::tools
