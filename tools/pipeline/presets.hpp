#pragma once
// Presets: the configs/*.json compiled into the binary, or a JSON file of the same layout.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sdkd::tools {

// Generated from configs/*.json at build time (cmake/EmbedPresets.cmake), keyed by file stem.
const std::map<std::string, std::string>& embedded_presets();

// A preset by name (embedded) or a path to a JSON file of the same layout (at most
// models::kMaxJsonFileBytes, nested at most kMaxJsonDepth levels), checked by check_preset; an
// unknown name, malformed JSON or a value out of place is one sdkd::Error naming the preset.
nlohmann::json load_preset(const std::string& name_or_path);

// The preset's layout, every error naming `where` (the file, or "preset 'smoke'") and the
// field: the top level and each section (data, window, model, train, kd, study, eval) are
// objects, teachers is a list of {name, model, train}, and every value a command reads has its
// type and range (model, train and kd through their from_json). An unknown key anywhere (a
// typo such as "windw") is an error naming the nearest known one; a key present with null is
// an error (an absent one means the defaults).
void check_preset(const nlohmann::json& preset, const std::string& where);

// The "data" section alone (check_preset calls it): strings where strings go, normalize one
// of none/zscore, loader one of auto/ram/stream.
void check_data_section(const nlohmann::json& data, const std::string& where);
// Why `value` is not a valid choice for data key `key` ("must be one of none, zscore, got
// 'minmax'"), "" when it is or the key takes any string.
std::string data_choice_problem(const std::string& key, const std::string& value);

// The preset's split_seed, 0 when absent.
uint64_t split_seed(const nlohmann::json& preset);

}  // namespace sdkd::tools
