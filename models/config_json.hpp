#pragma once
// Reading settings from JSON (presets, checkpoint metadata) with one error style: every text is
// parsed under the nesting limit kMaxJsonDepth (sdkd/safetensors.hpp), every section must be an
// object, and every value is type- and range-checked before it is used, so a value that does
// not fit is an sdkd::Error naming the source and the field, never a wrapped cast or a json
// exception. A value is named by `where` (its section: "train", or with the file
// "preset.json: train"; a file's top level is "preset.json:") and its `key`:
//   out of range  "preset.json: train.epochs must be an integer in [1, 100000], got 1e+30"
//   wrong type    "preset.json: train: key 'epochs' has the wrong type: expected an integer in
//                  [1, 100000], got "ten""
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdkd::models {

// where.key (where + " " + key at a file's top level, where ends in ':').
std::string field_name(const std::string& where, const std::string& key);

// Every key of the object `obj` is one of `known`; otherwise one error naming `where`, the
// key, the nearest known key when it is a likely typo ("windw" -> "window") and the list.
void check_keys(const nlohmann::json& obj, const std::string& where, const std::vector<std::string>& known);

// text as JSON; a text nested deeper than kMaxJsonDepth, or not valid JSON (1e400 included),
// is an error naming `where`.
nlohmann::json parse_json(const std::string& text, const std::string& where);

// v when it is an object (key empty: v is the whole text, named by where alone).
const nlohmann::json& json_object(const nlohmann::json& v, const std::string& where, const std::string& key = "");
// parent[key] when it is an object; an empty object when it is absent or null (a section left
// out means its defaults); an error for anything else.
const nlohmann::json& json_section(const nlohmann::json& parent, const std::string& where, const std::string& key);

// parent[key], which must be present (a missing one is an error naming where and key).
const nlohmann::json& json_required(const nlohmann::json& parent, const std::string& where, const std::string& key);

// The JSON files read whole (presets, a teacher's done.json) may hold at most this many bytes;
// ours are a few kB, and the limit keeps a wrong path from being read into memory.
constexpr size_t kMaxJsonFileBytes = size_t(16) << 20;
// read_text_file(path) under that limit, then parse_json(text, path).
nlohmann::json read_json_file(const std::string& path);

// The value in [lo, hi]. JSON integers, and floats that hold an integer exactly (10.0, not 2.5
// or 1e30), are accepted; the range is checked on the integer, so nothing is cast out of range.
int64_t json_int(const nlohmann::json& v, const std::string& where, const std::string& key, int64_t lo, int64_t hi);
uint64_t json_uint(const nlohmann::json& v, const std::string& where, const std::string& key,
                   uint64_t hi = UINT64_MAX);
// The same range check for a value that is already an integer (a config built in code).
void check_int(int64_t value, const std::string& where, const std::string& key, int64_t lo, int64_t hi);

// A finite number >= lo (> lo when lo_open); kAnyFinite: any finite number.
struct NumberRange {
  double lo = 0;
  bool lo_open = false;
};
constexpr NumberRange kAnyFinite{-std::numeric_limits<double>::infinity()};
double json_number(const nlohmann::json& v, const std::string& where, const std::string& key, NumberRange range = {});
std::vector<double> json_numbers(const nlohmann::json& v, const std::string& where, const std::string& key,
                                 NumberRange range = {});
void check_number(double value, const std::string& where, const std::string& key, NumberRange range = {});

bool json_bool(const nlohmann::json& v, const std::string& where, const std::string& key);
std::string json_string(const nlohmann::json& v, const std::string& where, const std::string& key);
std::vector<std::string> json_strings(const nlohmann::json& v, const std::string& where, const std::string& key);

}  // namespace sdkd::models
