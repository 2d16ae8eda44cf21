#pragma once
// Where the committed reader fixtures live (tests/data/fixtures, written by
// tests/data/make_fixtures.py) and how the tests read the manifest and expected values.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sdkd/npy.hpp"

namespace sdkd::test {

// ctest passes SDKD_TEST_DATA; run by hand, the fixtures are found beside this file.
inline std::string fixtures_dir() {
  if (const char* d = std::getenv("SDKD_TEST_DATA")) return std::string(d) + "/fixtures";
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "fixtures").string();
}
inline std::string fixture(const std::string& name) { return fixtures_dir() + "/" + name; }

// One line of fixtures/manifest.txt.
struct ManifestEntry {
  std::string kind, file, var, dtype_or_word, expected;  // var "" for a .npy file's array
};

inline std::vector<ManifestEntry> read_manifest() {
  std::ifstream in(fixture("manifest.txt"));
  std::vector<ManifestEntry> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    ManifestEntry e;
    ss >> e.kind >> e.file >> e.var >> e.dtype_or_word;
    if (e.kind == "array") ss >> e.expected;
    if (e.var == "-") e.var.clear();
    out.push_back(e);
  }
  return out;
}

// The expected values as float32 (the readers' output type) and their shape.
struct ExpectedValues {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

inline ExpectedValues read_expected(const std::string& name) {
  const NpyArray a = read_npy_expect(fixture(name), "f8", -1);
  ExpectedValues e{a.shape, {}};
  const double* p = a.data<double>();
  for (int64_t i = 0; i < a.numel(); ++i) e.values.push_back(static_cast<float>(p[i]));
  return e;
}

// The same float32 bits (so -0 differs from +0), or both NaN (a fixture holds NaN on purpose).
inline bool same_value(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

}  // namespace sdkd::test
