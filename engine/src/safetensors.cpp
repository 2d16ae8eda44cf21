#include "sdkd/safetensors.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <tuple>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd {
namespace {

struct StDtype {
  const char* name;
  int64_t size;
};

constexpr std::array<StDtype, 15> kStDtypes{{
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},
    {"I32", 4},  {"U32", 4}, {"F32", 4},
    {"I64", 8},  {"U64", 8}, {"F64", 8},
}};

int64_t find_itemsize(const std::string& name) {
  for (const auto& d : kStDtypes)
    if (name == d.name) return d.size;
  return 0;
}

// The reference implementation refuses headers above 100 MB; so do we, so a corrupt length
// field cannot make us allocate gigabytes.
constexpr uint64_t kMaxHeader = 100'000'000;
constexpr char kMetadataKey[] = "__metadata__";

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// numel * itemsize with overflow and sign checks. Zero dimensions count as 1 in the overflow
// check: a tensor's strides are products of its other dimensions, so [0, 2^62, 8] is refused too.
int64_t byte_count(const std::vector<int64_t>& shape, int64_t itemsize, const std::string& where) {
  int64_t n = itemsize;
  bool empty = false;
  for (int64_t d : shape) {
    SDKD_CHECK(d >= 0, where, ": negative dimension in shape ", shape_text(shape));
    empty = empty || d == 0;
    const int64_t f = std::max<int64_t>(d, 1);
    SDKD_CHECK(n <= std::numeric_limits<int64_t>::max() / f, where, ": shape ", shape_text(shape),
               " is too large (byte count overflows 64 bits)");
    n *= f;
  }
  return empty ? 0 : n;
}

int64_t to_offset(const nlohmann::json& v, const std::string& where) {
  SDKD_CHECK(v.is_number_unsigned(), where, ": data_offsets must be non-negative integers, found ", v.dump());
  uint64_t u = v.get<uint64_t>();
  SDKD_CHECK(u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where,
             ": data offset ", u, " is too large");
  return static_cast<int64_t>(u);
}

struct Entry {
  std::string name;
  int64_t begin = 0, end = 0;
};

}  // namespace

void check_json_depth(std::string_view text, const std::string& where, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      SDKD_CHECK(++depth <= max_depth, where, ": JSON nested deeper than ", max_depth,
                 " levels (arrays/objects); refusing it");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

int64_t safetensors_itemsize(const std::string& dtype) {
  int64_t size = find_itemsize(dtype);
  SDKD_CHECK(size > 0, "unknown safetensors dtype '", dtype,
             "'; expected one of BOOL U8 I8 F8_E4M3 F8_E5M2 I16 U16 F16 BF16 I32 U32 F32 I64 U64 F64");
  return size;
}

void save_safetensors(const std::string& path, const std::map<std::string, StTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<const std::string*, const StTensor*>> order;
  for (const auto& [name, t] : tensors) {
    const std::string where = path + ": tensor '" + name + "'";
    SDKD_CHECK(name != kMetadataKey, path, ": a tensor cannot be named ", kMetadataKey);
    SDKD_CHECK(find_itemsize(t.dtype) > 0, where, ": unknown dtype '", t.dtype,
               "'; expected a safetensors dtype such as F32");
    const int64_t want = byte_count(t.shape, find_itemsize(t.dtype), where);
    SDKD_CHECK(static_cast<int64_t>(t.bytes.size()) == want, where, ": has ", t.bytes.size(),
               " bytes but ", t.dtype, " ", shape_text(t.shape), " needs ", want);
    order.emplace_back(&name, &t);
  }
  // Larger elements first keeps every tensor aligned to its element size within the buffer.
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return find_itemsize(a.second->dtype) > find_itemsize(b.second->dtype);
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  int64_t offset = 0;
  for (const auto& [name, t] : order) {
    const int64_t n = static_cast<int64_t>(t->bytes.size());
    header[*name] = {{"dtype", t->dtype}, {"shape", t->shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, ": cannot encode the header (tensor names and metadata must be valid UTF-8): ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  unsigned char len_bytes[8];
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);

  write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& entry : order)
      out.write(reinterpret_cast<const char*>(entry.second->bytes.data()),
                static_cast<std::streamsize>(entry.second->bytes.size()));
  });
}

StFile load_safetensors(const std::string& path) {
  std::error_code ec;
  SDKD_CHECK(std::filesystem::exists(path, ec), path, ": no such file");
  SDKD_CHECK(!std::filesystem::is_directory(path, ec), path, ": is a directory, expected a .safetensors file");
  std::ifstream in(path, std::ios::binary);
  SDKD_CHECK(in.is_open(), path, ": cannot open for reading (permissions?)");
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SDKD_CHECK(!in.bad(), path, ": read failed");
  const uint64_t file_size = file.size();

  SDKD_CHECK(file_size >= 8, path, ": not a safetensors file (", file_size,
             " bytes; expected at least an 8-byte header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(file[i]);
  SDKD_CHECK(header_len <= file_size - 8, path, ": header length ", header_len,
             " goes beyond the end of the file (", file_size, " bytes); not a safetensors file or truncated");
  SDKD_CHECK(header_len <= kMaxHeader, path, ": header length ", header_len, " exceeds the format's limit of ",
             kMaxHeader, " bytes");
  SDKD_CHECK(header_len >= 2 && file[8] == '{', path,
             ": header does not start with '{'; expected a JSON object (not a safetensors file?)");

  const std::string_view header_text(file.data() + 8, header_len);
  check_json_depth(header_text, path + ": header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {  // syntax, and numbers out of range (1e400)
    throw Error(str_cat(path, ": header is not valid JSON: ", e.what()));
  }
  SDKD_CHECK(header.is_object(), path, ": header must be a JSON object");

  const char* buffer = file.data() + 8 + header_len;
  const int64_t buffer_len = static_cast<int64_t>(file_size - 8 - header_len);
  StFile result;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      SDKD_CHECK(info.is_object(), path, ": ", kMetadataKey, " must be an object of strings");
      for (const auto& [key, value] : info.items()) {
        SDKD_CHECK(value.is_string(), path, ": ", kMetadataKey, " value of '", key,
                   "' must be a string, found ", value.dump());
        result.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    SDKD_CHECK(info.is_object(), where, ": expected an object with dtype, shape, data_offsets");
    SDKD_CHECK(info.contains("dtype") && info["dtype"].is_string(), where, ": missing string field 'dtype'");
    SDKD_CHECK(info.contains("shape") && info["shape"].is_array(), where, ": missing array field 'shape'");
    SDKD_CHECK(info.contains("data_offsets") && info["data_offsets"].is_array() &&
                   info["data_offsets"].size() == 2,
               where, ": missing field 'data_offsets' = [begin, end]");
    StTensor t;
    t.dtype = info["dtype"].get<std::string>();
    const int64_t itemsize = find_itemsize(t.dtype);
    SDKD_CHECK(itemsize > 0, where, ": unknown dtype '", t.dtype,
               "'; expected one of BOOL U8 I8 F8_E4M3 F8_E5M2 I16 U16 F16 BF16 I32 U32 F32 I64 U64 F64");
    for (const auto& d : info["shape"]) {
      SDKD_CHECK(d.is_number_unsigned(), where, ": shape entries must be non-negative integers, found ",
                 info["shape"].dump());
      t.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(d.get<uint64_t>(), std::numeric_limits<int64_t>::max())));
    }
    Entry e{name, to_offset(info["data_offsets"][0], where), to_offset(info["data_offsets"][1], where)};
    SDKD_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end, "] has begin after end");
    SDKD_CHECK(e.end <= buffer_len, where, ": data_offsets [", e.begin, ", ", e.end,
               "] go beyond the data buffer (", buffer_len, " bytes); the file may be truncated");
    const int64_t want = byte_count(t.shape, itemsize, where);
    SDKD_CHECK(e.end - e.begin == want, where, ": data_offsets [", e.begin, ", ", e.end, "] span ",
               e.end - e.begin, " bytes but ", t.dtype, " ", shape_text(t.shape), " needs ", want);
    t.bytes.assign(buffer + e.begin, buffer + e.end);
    result.tensors.emplace(name, std::move(t));
    entries.push_back(std::move(e));
  }

  // The tensors must tile the buffer exactly: anything else is a corrupt or hostile file.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  int64_t covered = 0;
  const std::string* previous = nullptr;
  for (const Entry& e : entries) {
    SDKD_CHECK(e.begin >= covered, path, ": tensor '", e.name, "' at [", e.begin, ", ", e.end,
               "] overlaps tensor '", previous ? *previous : "", "' ending at ", covered);
    SDKD_CHECK(e.begin == covered, path, ": gap of ", e.begin - covered, " bytes before tensor '", e.name,
               "' at [", e.begin, ", ", e.end, "]; expected tensors to be contiguous");
    covered = e.end;
    previous = &e.name;
  }
  SDKD_CHECK(covered == buffer_len, path, ": ", buffer_len - covered,
             " bytes after the last tensor are not described by the header (buffer is ", buffer_len,
             " bytes, tensors cover ", covered, ")");
  return result;
}

}  // namespace sdkd
