// The npy and MAT v5 readers against fixtures written by NumPy and scipy (and two MAT files
// written byte by byte, checked with scipy.io.loadmat): tests/data/make_fixtures.py. Every
// array of fixtures/manifest.txt is read element by element and compared with the float64
// values NumPy wrote from the same array; every row range against the same slice; the listing
// (names, shapes, dtypes, and what is not read) against the manifest.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/toy.hpp"
#include "data_fixtures.hpp"
#include "sdkd/datasets/array_file.hpp"
#include "sdkd/datasets/open_dataset.hpp"

using namespace sdkd;
using namespace sdkd::data;
using sdkd::test::fixture;

namespace {

std::vector<float> read_all(const ArrayFile& f, const ArrayInfo& a) {
  std::vector<float> out(static_cast<size_t>(a.numel()));
  f.read_rows(a.name, 0, a.shape[0], out.data());
  return out;
}

const ArrayInfo* find(const std::vector<ArrayInfo>& list, const std::string& name) {
  for (const auto& a : list)
    if (a.name == name) return &a;
  return nullptr;
}

// How many values differ from the expected ones (bitwise, NaN equal to NaN); the first is reported.
int64_t mismatches(const std::vector<float>& got, const std::vector<float>& want, int64_t offset = 0) {
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!test::same_value(got[i], want[size_t(offset) + i])) {
      if (bad++ == 0) UNSCOPED_INFO("first mismatch at flat index " << offset + int64_t(i) << ": got " << got[i]
                                                                     << ", expected " << want[size_t(offset) + i]);
    }
  return bad;
}

}  // namespace

TEST_CASE("readers: every fixture array, element by element, equals the values NumPy wrote", "[readers]") {
  int checked = 0;
  for (const auto& e : test::read_manifest()) {
    if (e.kind != "array") continue;
    CAPTURE(e.file, e.var);
    const auto file = open_array_file(fixture(e.file));
    const auto list = file->arrays();
    const ArrayInfo* a = find(list, e.var);
    REQUIRE(a);
    const auto want = test::read_expected(e.expected);
    CHECK(a->dtype == e.dtype_or_word);
    REQUIRE(a->shape == want.shape);
    const auto got = read_all(*file, *a);
    CHECK(mismatches(got, want.values) == 0);
    ++checked;
  }
  CHECK(checked >= 60);  // every dtype, byte order and order of the manifest
}

TEST_CASE("readers: every row range of every fixture array equals the same slice", "[readers]") {
  for (const auto& e : test::read_manifest()) {
    if (e.kind != "array") continue;
    CAPTURE(e.file, e.var);
    const auto file = open_array_file(fixture(e.file));
    const ArrayInfo a = pick_array(*file, e.var);
    const auto want = test::read_expected(e.expected);
    const int64_t rows = a.shape[0], row = a.numel() / rows;
    for (int64_t first = 0; first < rows; ++first)
      for (int64_t count = 0; first + count <= rows; ++count) {
        CAPTURE(first, count);
        std::vector<float> got(size_t(count * row), -12345.f);
        file->read_rows(a.name, first, count, got.data());
        REQUIRE(mismatches(got, want.values, first * row) == 0);
      }
  }
}

TEST_CASE("readers: the listing is the manifest's: arrays in file order, the rest named with what they are",
          "[readers]") {
  std::map<std::string, std::vector<test::ManifestEntry>> by_file;
  for (const auto& e : test::read_manifest()) by_file[e.file].push_back(e);
  for (const auto& [name, entries] : by_file) {
    CAPTURE(name);
    const auto file = open_array_file(fixture(name));
    std::vector<std::string> arrays, want_arrays;
    for (const auto& a : file->arrays()) arrays.push_back(a.name);
    const auto skipped = skipped_variables(*file);
    size_t n_skips = 0;
    for (const auto& e : entries) {
      if (e.kind == "array") want_arrays.push_back(e.var);
      if (e.kind != "skip") continue;
      ++n_skips;
      const auto it = std::find_if(skipped.begin(), skipped.end(), [&](const SkippedVariable& s) { return s.name == e.var; });
      REQUIRE(it != skipped.end());
      CHECK_THAT(it->what, Catch::Matchers::Contains(e.dtype_or_word));
    }
    CHECK(arrays == want_arrays);
    CHECK(skipped.size() == n_skips);
    CHECK(file->format() == (name.rfind("npy_", 0) == 0 ? "npy" : "MAT v5"));
  }
}

TEST_CASE("readers: the format comes from the magic bytes, not the extension", "[readers]") {
  test::TempDir tmp("readers_magic");
  std::filesystem::copy_file(fixture("npy_f4_le.npy"), tmp / "looks_like.mat");
  std::filesystem::copy_file(fixture("mat5_be.mat"), tmp / "looks_like.npy");
  CHECK(open_array_file(tmp / "looks_like.mat")->format() == "npy");
  CHECK(open_array_file(tmp / "looks_like.npy")->format() == "MAT v5");
}

TEST_CASE("readers: a compressed variable inflates once and every later read agrees", "[readers]") {
  const auto file = open_array_file(fixture("mat5_zip.mat"));
  const ArrayInfo u = pick_array(*file, "u");
  const auto want = test::read_expected("mat5_zip.u.expected.npy");
  const int64_t row = u.numel() / u.shape[0];
  for (int rep = 0; rep < 3; ++rep)
    for (int64_t first = u.shape[0] - 1; first >= 0; first -= 3) {
      std::vector<float> got(static_cast<size_t>(row));
      file->read_rows("u", first, 1, got.data());
      REQUIRE(mismatches(got, want.values, first * row) == 0);
    }
}
