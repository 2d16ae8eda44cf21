// safetensors reader/writer against the format as specified by Hugging Face: a golden file
// spelled out byte by byte, and the writer's output checked by a separate minimal parse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

#include "common/fixtures.hpp"
#include "common/toy.hpp"
#include "sdkd/error.hpp"
#include "sdkd/safetensors.hpp"

using Catch::Matchers::Contains;
using namespace sdkd::test;

namespace {

// length prefix (u64 little-endian) + header padded with spaces to a multiple of 8 + buffer.
std::string st_file(std::string header, const std::string& buffer) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + buffer;
}

// "{" + inner + "}" (spelled out: GCC 12 warns falsely on "literal" + temporary string).
std::string braces(const std::string& inner) {
  std::string s = "{";
  s += inner;
  s += '}';
  return s;
}

// The value of "key":[a,b,...] or "key":"text" inside one tensor's JSON object, by text search.
std::string field(const std::string& object, const std::string& key) {
  const std::string tag = "\"" + key + "\":";
  const size_t at = object.find(tag);
  REQUIRE(at != std::string::npos);
  const size_t begin = at + tag.size();
  const char close = object[begin] == '[' ? ']' : '"';
  const size_t end = object.find(close, begin + 1);
  return object.substr(begin, end - begin + 1);
}

}  // namespace

TEST_CASE("safetensors: reads a golden file written byte by byte from the spec", "[safetensors]") {
  TempDir tmp("st_golden");
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\",\"step\":\"12\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
      "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"e\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[16,16]},"
      "\"h\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]}}";
  REQUIRE(header.size() == 263);  // + 1 space of padding = 264 = 0x108
  const unsigned char length[8] = {0x08, 0x01, 0, 0, 0, 0, 0, 0};
  const unsigned char buffer[18] = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xE0, 0x3F,  // s: float64 0.5
      0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0,  // a: float32 1.0, -2.0
      0x80, 0x3F,                                      // h: bfloat16 1.0
  };
  std::string bytes(reinterpret_cast<const char*>(length), 8);
  bytes += header + " ";
  bytes.append(reinterpret_cast<const char*>(buffer), sizeof buffer);
  write_bytes(tmp / "golden.safetensors", bytes);

  const sdkd::StFile f = sdkd::load_safetensors(tmp / "golden.safetensors");
  CHECK(f.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}});
  REQUIRE(f.tensors.size() == 4);
  const auto& a = f.tensors.at("a");
  CHECK(a.dtype == "F32");
  CHECK(a.shape == std::vector<int64_t>{2});
  float av[2];
  std::memcpy(av, a.bytes.data(), 8);
  CHECK(av[0] == 1.0f);
  CHECK(av[1] == -2.0f);
  const auto& s = f.tensors.at("s");
  CHECK(s.shape.empty());
  double sv;
  std::memcpy(&sv, s.bytes.data(), 8);
  CHECK(sv == 0.5);
  CHECK(f.tensors.at("e").shape == std::vector<int64_t>{0, 3});
  CHECK(f.tensors.at("e").bytes.empty());
  CHECK(f.tensors.at("h").bytes == std::vector<uint8_t>{0x80, 0x3F});
}

TEST_CASE("safetensors: writer output matches the spec by an independent parse", "[safetensors]") {
  TempDir tmp("st_writer");
  std::map<std::string, sdkd::StTensor> tensors;
  auto make = [](const std::string& dtype, std::vector<int64_t> shape, uint8_t seed) {
    int64_t n = sdkd::safetensors_itemsize(dtype);
    for (auto d : shape) n *= d;
    sdkd::StTensor t{dtype, std::move(shape), std::vector<uint8_t>(static_cast<size_t>(n))};
    for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<uint8_t>(seed + 7 * i);
    return t;
  };
  tensors["enc.0.weight"] = make("F32", {3, 1, 3, 3}, 1);
  tensors["enc.0.bias"] = make("F32", {3}, 2);
  tensors["mask"] = make("BOOL", {5}, 3);  // odd size: must not misalign what follows
  tensors["step"] = make("I64", {}, 4);
  tensors["half"] = make("F16", {3}, 5);
  tensors["empty"] = make("F64", {0, 4}, 6);
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "quote \" and \\ ok"}};
  const std::string path = tmp / "ckpt.safetensors";
  sdkd::save_safetensors(path, tensors, meta);

  const std::string file = read_bytes(path);
  REQUIRE(file.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[i]);
  CHECK(n % 8 == 0);
  REQUIRE(8 + n <= file.size());
  const std::string header = file.substr(8, n);
  const size_t last_brace = header.rfind('}');
  CHECK(header.front() == '{');
  CHECK(header.find_first_not_of(' ', last_brace + 1) == std::string::npos);  // space padding only
  CHECK(header.find("\"__metadata__\":{\"format\":\"pt\",\"note\":\"quote \\\" and \\\\ ok\"}") != std::string::npos);
  const std::string buffer = file.substr(8 + n);

  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    const size_t at = header.find("\"" + name + "\":{");
    REQUIRE(at != std::string::npos);
    const std::string object = header.substr(at, header.find('}', at) - at + 1);
    CHECK(field(object, "dtype") == "\"" + t.dtype + "\"");
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i) shape += ',';
      shape += std::to_string(t.shape[i]);
    }
    CHECK(field(object, "shape") == shape + "]");
    const std::string offsets = field(object, "data_offsets");
    const int64_t begin = std::stoll(offsets.substr(1));
    const int64_t end = std::stoll(offsets.substr(offsets.find(',') + 1));
    CHECK(end - begin == static_cast<int64_t>(t.bytes.size()));
    CHECK(begin % sdkd::safetensors_itemsize(t.dtype) == 0);  // aligned to the element size
    REQUIRE(end <= static_cast<int64_t>(buffer.size()));
    CHECK(std::string(t.bytes.begin(), t.bytes.end()) == buffer.substr(static_cast<size_t>(begin), t.bytes.size()));
    spans.emplace_back(begin, end);
  }
  // The tensors tile the buffer without gaps or overlap.
  std::sort(spans.begin(), spans.end());
  int64_t covered = 0;
  for (const auto& [b, e] : spans) {
    CHECK(b == covered);
    covered = e;
  }
  CHECK(covered == static_cast<int64_t>(buffer.size()));

  // And the loader gives back exactly what was saved.
  const sdkd::StFile back = sdkd::load_safetensors(path);
  CHECK(back.metadata == meta);
  REQUIRE(back.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    const auto& u = back.tensors.at(name);
    CHECK(u.dtype == t.dtype);
    CHECK(u.shape == t.shape);
    CHECK(u.bytes == t.bytes);
  }
}

TEST_CASE("safetensors: round trip of every dtype, no metadata means no __metadata__ key", "[safetensors]") {
  TempDir tmp("st_dtypes");
  std::map<std::string, sdkd::StTensor> tensors;
  const char* dtypes[] = {"BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2", "I16", "U16", "F16",
                          "BF16", "I32", "U32", "F32", "I64", "U64", "F64"};
  int k = 0;
  for (const char* dtype : dtypes) {
    const int64_t size = sdkd::safetensors_itemsize(dtype);
    sdkd::StTensor t{dtype, {2, 3}, std::vector<uint8_t>(static_cast<size_t>(6 * size))};
    for (auto& b : t.bytes) b = static_cast<uint8_t>(++k);
    tensors[std::string("t_") + dtype] = t;
  }
  sdkd::save_safetensors(tmp / "all.safetensors", tensors, {});
  CHECK(read_bytes(tmp / "all.safetensors").find("__metadata__") == std::string::npos);
  const sdkd::StFile back = sdkd::load_safetensors(tmp / "all.safetensors");
  CHECK(back.metadata.empty());
  for (const auto& [name, t] : tensors) CHECK(back.tensors.at(name).bytes == t.bytes);

  // An empty file ({} padded to 8) is valid too.
  sdkd::save_safetensors(tmp / "none.safetensors", {}, {});
  CHECK(read_bytes(tmp / "none.safetensors") == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  CHECK(sdkd::load_safetensors(tmp / "none.safetensors").tensors.empty());
}

TEST_CASE("safetensors: malformed files get one clear error naming file and tensor", "[safetensors]") {
  TempDir tmp("st_bad");
  const std::string eight(8, '\x11');
  auto expect_error = [&](const std::string& name, const std::string& bytes, std::initializer_list<std::string> parts) {
    write_bytes(tmp / name, bytes);
    check_read_error(tmp / name, [](const std::string& path) { sdkd::load_safetensors(path); }, parts);
  };
  auto one = [](const std::string& name, const std::string& dtype, const std::string& shape,
                const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  };

  expect_error("short.safetensors", "abc", {"expected at least an 8-byte header length"});
  expect_error("hdrlen.safetensors", std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10),
               {"header length 255 goes beyond the end of the file"});
  expect_error("huge.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10), {"beyond the end"});
  expect_error("notjson.safetensors", st_file("{\"a\": [1, 2", ""), {"not valid JSON"});
  expect_error("notobject.safetensors", st_file("[1, 2]", ""), {"does not start with '{'"});
  // One tensor 'w' over the eight-byte buffer, wrong in one field each.
  const struct {
    const char *file, *dtype, *shape, *offsets, *error;
  } bad_w[] = {
      {"dtype.safetensors", "F31", "[2]", "[0,8]", "unknown dtype 'F31'"},
      {"bounds.safetensors", "F32", "[4]", "[0,16]", "go beyond the data buffer (8 bytes)"},
      {"shape.safetensors", "F32", "[3]", "[0,8]", "span 8 bytes but F32 [3] needs 12"},
      {"negshape.safetensors", "F32", "[-2]", "[0,8]", "non-negative"},
      {"reversed.safetensors", "U8", "[0]", "[8,0]", "begin after end"},
      {"floatoff.safetensors", "F32", "[2]", "[0.0,8]", "non-negative integers"},
  };
  for (const auto& c : bad_w)
    expect_error(c.file, st_file(braces(one("w", c.dtype, c.shape, c.offsets)), eight), {"tensor 'w'", c.error});
  expect_error("nooffsets.safetensors", st_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight),
               {"tensor 'w'", "data_offsets"});
  expect_error("overlap.safetensors",
               st_file(braces(one("a", "F32", "[2]", "[0,8]") + "," + one("b", "F32", "[2]", "[4,12]")),
                       std::string(12, '\0')),
               {"tensor 'b'", "overlaps tensor 'a'"});
  expect_error("gap.safetensors",
               st_file(braces(one("a", "F32", "[2]", "[0,8]") + "," + one("b", "F32", "[2]", "[12,20]")),
                       std::string(20, '\0')),
               {"gap of 4 bytes before tensor 'b'"});
  expect_error("tail.safetensors", st_file(braces(one("a", "F32", "[2]", "[0,8]")), std::string(12, '\0')),
               {"4 bytes after the last tensor"});
  expect_error("meta.safetensors", st_file("{\"__metadata__\":{\"epoch\":3}}", ""),
               {"__metadata__", "'epoch' must be a string"});

  REQUIRE_THROWS_WITH(sdkd::load_safetensors(tmp / "absent.safetensors"),
                      Contains("absent.safetensors: no such file"));
}

TEST_CASE("safetensors: writer rejects bad tensors and leaves no partial file", "[safetensors]") {
  TempDir tmp("st_badwrite");
  const std::string path = tmp / "w.safetensors";
  std::map<std::string, sdkd::StTensor> bad_size{{"w", {"F32", {3}, std::vector<uint8_t>(8)}}};
  REQUIRE_THROWS_WITH(sdkd::save_safetensors(path, bad_size, {}),
                      Contains("w.safetensors") && Contains("tensor 'w'") && Contains("needs 12"));
  std::map<std::string, sdkd::StTensor> bad_dtype{{"w", {"float32", {2}, std::vector<uint8_t>(8)}}};
  REQUIRE_THROWS_WITH(sdkd::save_safetensors(path, bad_dtype, {}), Contains("tensor 'w'") && Contains("unknown dtype"));
  std::map<std::string, sdkd::StTensor> reserved{{"__metadata__", {"U8", {1}, {0}}}};
  REQUIRE_THROWS_WITH(sdkd::save_safetensors(path, reserved, {}), Contains("__metadata__"));
  std::map<std::string, sdkd::StTensor> ok{{"w", {"U8", {1}, {0}}}};
  const std::string nodir = tmp / "missing/dir/w.safetensors";
  REQUIRE_THROWS_WITH(sdkd::save_safetensors(nodir, ok, {}), Contains(nodir) && Contains("cannot open"));
  REQUIRE_THROWS_WITH(sdkd::save_safetensors(path, ok, {{"bad", std::string("\xff\xfe", 2)}}),
                      Contains("w.safetensors") && Contains("UTF-8"));
  CHECK(tmp.count() == 0);
}
