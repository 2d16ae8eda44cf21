#include "sdkd/models/config_json.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/safetensors.hpp"  // check_json_depth, kMaxJsonDepth

namespace sdkd::models {

namespace {

// A value as the error shows it: JSON text (invalid UTF-8 replaced, so printing cannot throw),
// cut short so a long list does not flood the line.
std::string shown(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// A value of the wrong JSON type: the message every reader of sdkd configs has printed.
[[noreturn]] void wrong_type(const nlohmann::json& v, const std::string& where, const std::string& key,
                             const std::string& expected) {
  const std::string at = !where.empty() && where.back() == ':' ? where.substr(0, where.size() - 1) : where;
  if (key.empty()) throw Error(str_cat(at, ": expected ", expected, ", got ", shown(v)));
  throw Error(str_cat(at, at.empty() ? "" : ": ", "key '", key, "' has the wrong type: expected ", expected, ", got ",
                      shown(v)));
}

// A value of the right type outside its range.
[[noreturn]] void out_of_range(const std::string& where, const std::string& key, const std::string& expected,
                               const std::string& got) {
  throw Error(str_cat(field_name(where, key), " must be ", expected, ", got ", got));
}

std::string int_range(int64_t lo, int64_t hi) { return str_cat("an integer in [", lo, ", ", hi, "]"); }
std::string number_range(NumberRange r) {
  return std::isinf(r.lo) ? "a finite number" : str_cat("a finite number ", r.lo_open ? "> " : ">= ", r.lo);
}

// The integer v holds exactly, as sign and magnitude: JSON integers, and floats within 2^53
// (where doubles stop being exact) with no fraction. false for anything else.
bool exact_integer(const nlohmann::json& v, bool& negative, uint64_t& magnitude) {
  if (v.is_number_unsigned()) {
    negative = false;
    magnitude = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    negative = s < 0;
    magnitude = negative ? uint64_t(0) - uint64_t(s) : uint64_t(s);
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(std::fabs(d) <= 0x1p53) || d != std::trunc(d)) return false;
    negative = d < 0;
    magnitude = uint64_t(std::fabs(d));
  } else {
    return false;
  }
  return true;
}

}  // namespace

namespace {
// Levenshtein distance, for "did you mean": keys are short, so the quadratic table is nothing.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

void check_keys(const nlohmann::json& obj, const std::string& where, const std::vector<std::string>& known) {
  if (!obj.is_object()) return;  // the type is the caller's check
  for (const auto& [k, v] : obj.items()) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string nearest, list;
    size_t best = 3;  // a typo is at most two edits away (or one per four letters of a long key)
    for (const auto& n : known) {
      list += (list.empty() ? "" : ", ") + n;
      const size_t d = edit_distance(k, n);
      if (d < best && d <= std::max<size_t>(2, n.size() / 4)) best = d, nearest = n;
    }
    throw Error(str_cat(where, ": unknown key '", k, "'", nearest.empty() ? "" : " (did you mean '" + nearest + "'?)",
                        "; known keys: ", list));
  }
}

std::string field_name(const std::string& where, const std::string& key) {
  if (where.empty()) return key;
  return where + (where.back() == ':' ? " " : ".") + key;
}

nlohmann::json parse_json(const std::string& text, const std::string& where) {
  check_json_depth(text, where);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // syntax, and numbers out of range (1e400)
    throw Error(str_cat(where, ": not valid JSON: ", e.what()));
  }
}

const nlohmann::json& json_object(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if (!v.is_object()) wrong_type(v, where, key, "a JSON object {...}");
  return v;
}

const nlohmann::json& json_section(const nlohmann::json& parent, const std::string& where, const std::string& key) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!parent.is_object() || !parent.contains(key) || parent[key].is_null()) return empty;
  return json_object(parent[key], where, key);
}

const nlohmann::json& json_required(const nlohmann::json& parent, const std::string& where, const std::string& key) {
  SDKD_CHECK(parent.is_object() && parent.contains(key), where, ": missing key '", key, "'");
  return parent[key];
}

nlohmann::json read_json_file(const std::string& path) { return parse_json(read_text_file(path, kMaxJsonFileBytes), path); }

int64_t json_int(const nlohmann::json& v, const std::string& where, const std::string& key, int64_t lo, int64_t hi) {
  if (!v.is_number()) wrong_type(v, where, key, int_range(lo, hi));
  bool negative = false;
  uint64_t m = 0;
  // Compared as magnitudes, so no value is converted before it is known to fit.
  const bool fits = exact_integer(v, negative, m) &&
                    (negative ? lo < 0 && m - 1 <= uint64_t(-(lo + 1)) : hi >= 0 && m <= uint64_t(hi));
  if (!fits) out_of_range(where, key, int_range(lo, hi), shown(v));
  const int64_t value = negative ? -int64_t(m - 1) - 1 : int64_t(m);
  check_int(value, where, key, lo, hi);
  return value;
}

uint64_t json_uint(const nlohmann::json& v, const std::string& where, const std::string& key, uint64_t hi) {
  const std::string range = str_cat("an integer in [0, ", hi, "]");
  if (!v.is_number()) wrong_type(v, where, key, range);
  bool negative = false;
  uint64_t m = 0;
  if (!exact_integer(v, negative, m) || negative || m > hi) out_of_range(where, key, range, shown(v));
  return m;
}

void check_int(int64_t value, const std::string& where, const std::string& key, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) out_of_range(where, key, int_range(lo, hi), std::to_string(value));
}

double json_number(const nlohmann::json& v, const std::string& where, const std::string& key, NumberRange range) {
  if (!v.is_number()) wrong_type(v, where, key, number_range(range));
  const double d = v.get<double>();
  check_number(d, where, key, range);
  return d;
}

std::vector<double> json_numbers(const nlohmann::json& v, const std::string& where, const std::string& key,
                                 NumberRange range) {
  if (!v.is_array()) wrong_type(v, where, key, "a list of numbers [...]");
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(json_number(v[i], where, str_cat(key, "[", i, "]"), range));
  return out;
}

void check_number(double value, const std::string& where, const std::string& key, NumberRange range) {
  const bool above = range.lo_open ? value > range.lo : value >= range.lo;
  if (!std::isfinite(value) || !above) out_of_range(where, key, number_range(range), str_cat(value));
}

bool json_bool(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if (!v.is_boolean()) wrong_type(v, where, key, "true or false");
  return v.get<bool>();
}

std::string json_string(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if (!v.is_string()) wrong_type(v, where, key, "a string");
  return v.get<std::string>();
}

std::vector<std::string> json_strings(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if (!v.is_array()) wrong_type(v, where, key, "a list of strings [...]");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(json_string(v[i], where, str_cat(key, "[", i, "]")));
  return out;
}

}  // namespace sdkd::models
