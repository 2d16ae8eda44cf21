// open_dataset and SequenceDataset over user files: axis orders against a hand-computed
// permutation, the defaults per format and rank, picking the array, the errors for layouts
// that do not fit and for non-finite data, our own .npy files unchanged bit for bit, the MAT
// fixture against its .npy conversion, and the streamed statistics of `sdkd data info`.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/fixtures.hpp"
#include "common/toy.hpp"
#include "data_fixtures.hpp"
#include "sdkd/datasets/open_dataset.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/npy.hpp"

using namespace sdkd;
using namespace sdkd::data;
using Catch::Matchers::Contains;
using sdkd::test::fixture;

namespace {

// A float32 .npy whose every value is its own flat index: a permutation is then visible.
std::string index_array(const test::TempDir& tmp, const std::string& name, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(i);
  const std::string path = tmp / name;
  write_npy(path, "f4", shape, v.data());
  return path;
}

// The value at result index (n, t, c, h, w) when the stored array of `shape` has axes `layout`
// and holds its flat index: the C-order offset of the stored index, computed by hand.
float stored_index(const std::vector<int64_t>& shape, const std::string& layout, std::array<int64_t, 5> ntchw) {
  int64_t flat = 0;
  for (size_t a = 0; a < layout.size(); ++a) flat = flat * shape[a] + ntchw[size_t(std::string("NTCHW").find(layout[a]))];
  return float(flat);
}

void check_permutation(const Tensor& t, const std::vector<int64_t>& shape, const std::string& layout) {
  CAPTURE(layout);
  const float* p = t.data<float>();
  int64_t bad = 0, i = 0;
  for (int64_t n = 0; n < t.size(0); ++n)
    for (int64_t tt = 0; tt < t.size(1); ++tt)
      for (int64_t c = 0; c < t.size(2); ++c)
        for (int64_t h = 0; h < t.size(3); ++h)
          for (int64_t w = 0; w < t.size(4); ++w) bad += p[i++] != stored_index(shape, layout, {n, tt, c, h, w});
  CHECK(bad == 0);
}

void check_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    for (const auto& p : parts) CHECK_THAT(msg, Contains(p));
  }
}

}  // namespace

TEST_CASE("open_dataset: every layout reads the axes it names, checked against a hand-computed permutation",
          "[open_dataset]") {
  test::TempDir tmp("open_layouts");
  struct Case {
    std::vector<int64_t> shape;
    std::string layout;
    Shape result;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5}, "NHWT", {2, 5, 1, 3, 4}},    {{2, 3, 4, 5}, "NTHW", {2, 3, 1, 4, 5}},
      {{2, 3, 4, 5}, "TNHW", {3, 2, 1, 4, 5}},    {{2, 3, 4, 5}, "HWNT", {4, 5, 1, 2, 3}},
      {{3, 4, 5}, "HWT", {1, 5, 1, 3, 4}},        {{3, 4, 5}, "THW", {1, 3, 1, 4, 5}},
      {{2, 3, 2, 4, 5}, "NTCHW", {2, 3, 2, 4, 5}}, {{2, 3, 4, 5, 2}, "NTHWC", {2, 3, 2, 4, 5}},
      {{2, 2, 3, 4, 5}, "NCTHW", {2, 3, 2, 4, 5}}, {{3, 4, 2, 5}, "HWCT", {1, 5, 2, 3, 4}},
  };
  for (const auto& c : cases) {
    const std::string path = index_array(tmp, c.layout + ".npy", c.shape);
    const LoadedDataset d = open_dataset(path, {"", c.layout});
    REQUIRE(d.values.shape() == c.result);
    check_permutation(d.values, c.shape, c.layout);
  }
  // Letters are case-insensitive.
  const std::string path = index_array(tmp, "lower.npy", {2, 3, 4, 5});
  check_permutation(open_dataset(path, {"", "nhwt"}).values, {2, 3, 4, 5}, "NHWT");
}

TEST_CASE("open_dataset: the defaults are NTHW/NTCHW for .npy and NHWT/HWT for MAT", "[open_dataset]") {
  test::TempDir tmp("open_defaults");
  check_permutation(open_dataset(index_array(tmp, "a.npy", {2, 3, 4, 4})).values, {2, 3, 4, 4}, "NTHW");
  check_permutation(open_dataset(index_array(tmp, "b.npy", {2, 3, 2, 4, 4})).values, {2, 3, 2, 4, 4}, "NTCHW");

  // MAT 4-d: the FNO order (N, H, W, T); the values against NumPy's, permuted by hand.
  const LoadedDataset u = open_dataset(fixture("mat5_plain.mat"));  // several arrays: `u` is the default
  const auto want = test::read_expected("mat5_plain.u.expected.npy");  // (N, H, W, T) = (2, 4, 4, 3)
  REQUIRE(u.values.shape() == Shape{2, 3, 1, 4, 4});
  const float* p = u.values.data<float>();
  int64_t bad = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 4; ++w)
          bad += !test::same_value(p[((n * 3 + t) * 4 + h) * 4 + w], want.values[size_t(((n * 4 + h) * 4 + w) * 3 + t)]);
  CHECK(bad == 0);
  CHECK_THAT(u.description, Contains("u (2, 4, 4, 3) of MAT v5 read as NHWT: N = 2, T = 3 frames of 4 x 4"));

  // MAT 3-d: one trajectory (H, W, T); the only numeric variable is the default.
  const LoadedDataset v = open_dataset(fixture("mat5_one.mat"));
  CHECK(v.values.shape() == Shape{1, 6, 1, 8, 8});
}

TEST_CASE("open_dataset: our own .npy frames load bit for bit as written", "[open_dataset]") {
  test::TempDir tmp("open_own");
  Tensor t = test::cpu_randn({3, 4, 1, 8, 8}, 7);  // seeded normal values
  float* p = t.data<float>();
  p[1] = -0.0f;
  p[2] = 1e-42f;  // a subnormal
  write_npy(tmp / "own.npy", "f4", t.shape(), p);
  const SequenceDataset ds(tmp / "own.npy", WindowSpec{2, 2, 2});
  REQUIRE(ds.values().shape() == t.shape());
  CHECK(std::memcmp(ds.values().data<float>(), p, size_t(t.numel()) * sizeof(float)) == 0);
  CHECK(ds.name() == tmp / "own.npy");  // the name (checkpoint metadata, teacher reuse) is the path, as before
}

TEST_CASE("SequenceDataset: the MAT fixture gives the same frames, windows and moments as its .npy conversion",
          "[open_dataset]") {
  const WindowSpec w{2, 2, 2};
  const SequenceDataset mat(fixture("mat5_zip.mat"), w);
  const SequenceDataset npy(fixture("mat5_zip_u_NTHW.npy"), w);
  REQUIRE(mat.values().shape() == Shape{6, 6, 1, 12, 12});
  REQUIRE(npy.values().shape() == mat.values().shape());
  CHECK(std::memcmp(mat.values().data<float>(), npy.values().data<float>(), size_t(mat.values().numel()) * 4) == 0);
  const std::vector<int64_t> all = {0, 1, 2, 3, 4, 5};
  CHECK(mat.moments(all) == npy.moments(all));
  const auto ws = mat.windows({3, 5});
  REQUIRE(ws == npy.windows({3, 5}));
  const auto [xm, ym] = mat.batch(ws);
  const auto [xn, yn] = npy.batch(ws);
  CHECK(std::memcmp(xm.data<float>(), xn.data<float>(), size_t(xm.numel()) * 4) == 0);
  CHECK(std::memcmp(ym.data<float>(), yn.data<float>(), size_t(ym.numel()) * 4) == 0);
  // An explicit --var/--layout is part of the name: another variable of one file is other data.
  CHECK(SequenceDataset(fixture("mat5_zip.mat"), w, {"u", "NHWT"}).name() == fixture("mat5_zip.mat") + " [var u, layout NHWT]");
}

TEST_CASE("open_dataset: the array is --var, else the only numeric one, else u, errors name the choices",
          "[open_dataset]") {
  CHECK(open_dataset(fixture("mat5_zip.mat"), {"u", ""}).values.shape() == Shape{6, 6, 1, 12, 12});
  const std::string be = fixture("mat5_be.mat");
  check_error([&] { open_dataset(be); }, {be + ": 5 numeric arrays and none is named u: x (3, 4), y (2, 5)",
                                          "choose one with --var NAME"});
  const std::string zip = fixture("mat5_zip.mat");
  check_error([&] { open_dataset(zip, {"cel", ""}); }, {zip + ": --var cel: 'cel' is a cell array (1x2), not a numeric array"});
  check_error([&] { open_dataset(zip, {"st", ""}); }, {zip + ": --var st: 'st' is a struct"});
  check_error([&] { open_dataset(zip, {"uu", ""}); }, {zip + ": --var uu: no numeric array 'uu'", "u (6, 12, 12, 6), a (6, 12, 12)"});
  const std::string plain = fixture("mat5_plain.mat");
  check_error([&] { open_dataset(plain, {"cpx", ""}); }, {plain + ": --var cpx: 'cpx' is a complex float64"});
  check_error([&] { open_dataset(plain, {"sp", ""}); }, {"'sp' is a sparse matrix"});
  const std::string n = fixture("npy_frames4.npy");
  check_error([&] { open_dataset(n, {"u", ""}); }, {n + ": --var u: a .npy file holds one unnamed array"});
  const std::string c = fixture("npy_c8.npy");
  check_error([&] { open_dataset(c); }, {c + ": no numeric array to read", "complex64"});
}

TEST_CASE("open_dataset: a layout that does not fit is one error naming the file, array, shape and what fits",
          "[open_dataset]") {
  const std::string zip = fixture("mat5_zip.mat");
  const std::string head = zip + ": u has shape (6, 12, 12, 6): ";
  check_error([&] { open_dataset(zip, {"", "NTCHW"}); },
              {head + "layout NTCHW names 5 axes, the array has 4",
               "for this shape try --layout NHWT (N = 6, T = 6 frames of 12 x 12)"});
  check_error([&] { open_dataset(zip, {"", "NTHX"}); }, {head + "layout NTHX: 'X' is not an axis letter"});
  check_error([&] { open_dataset(zip, {"", "NTTW"}); }, {head + "layout NTTW names T twice"});
  check_error([&] { open_dataset(zip, {"", "NCHW"}); }, {head + "layout NCHW has no T axis"});
  check_error([&] { open_dataset(zip, {"a", ""}); },  // 3-d MAT: HWT would be 6 x 12 frames; THW is square
              {zip + ": a has shape (6, 12, 12): the default layout HWT", "N = 1, T = 12 frames of 6 x 12",
               "pass --layout THW"});
  check_error([&] { open_dataset(fixture("mat5_plain.mat"), {"dbl", ""}); },
              {"dbl has shape (3, 4): a 2-d MAT v5 array has no default layout"});
  // An explicit layout is trusted, even one that makes the frames 8 x 6.
  CHECK(open_dataset(zip, {"", "NTHW"}).values.shape() == Shape{6, 12, 1, 12, 6});
}

TEST_CASE("open_dataset: a default that makes an FNO-style array's frames non-square is refused", "[open_dataset]") {
  test::TempDir tmp("open_unlikely");
  const std::string path = index_array(tmp, "fno_order.npy", {3, 8, 8, 6});  // (N, H, W, T) saved as .npy
  check_error([&] { open_dataset(path); },
              {path + ": the array has shape (3, 8, 8, 6): the default layout NTHW of a 4-d npy array would mean "
                      "N = 3, T = 8 frames of 8 x 6, but NHWT would mean N = 3, T = 6 frames of 8 x 8: pass --layout "
                      "NHWT (the FNO files' order)"});
  check_permutation(open_dataset(path, {"", "NHWT"}).values, {3, 8, 8, 6}, "NHWT");
}

TEST_CASE("open_dataset: NaN or Inf is one error naming the file, the array and the index", "[open_dataset]") {
  const std::string n = fixture("npy_nan.npy");
  check_error([&] { open_dataset(n); }, {n + ": the array (2, 4, 3, 3) holds NaN at index [1, 2, 0, 1]"});
  const std::string m = fixture("mat5_plain.mat");
  check_error([&] { open_dataset(m, {"holes", ""}); }, {m + ": holes (2, 3, 3, 4) holds -Inf at index [0, 0, 1, 1]"});
}

TEST_CASE("SequenceDataset: too few frames names how the array was read", "[open_dataset]") {
  const std::string zip = fixture("mat5_zip.mat");
  check_error([&] { SequenceDataset(zip, WindowSpec{5, 5, 5}); },
              {zip + ": 6 frames per trajectory, but a window needs 5 input + 5 output frames",
               "u (6, 12, 12, 6) of MAT v5 read as NHWT", "is --layout right?"});
}

TEST_CASE("array_stats: streamed over chunks, the statistics equal a direct computation", "[open_dataset]") {
  // One fixture with NaN and Inf, and one array larger than a chunk (2^23 values).
  const auto holes = open_array_file(fixture("mat5_plain.mat"));
  const ArrayStats s = array_stats(*holes, pick_array(*holes, "holes"));
  const auto want = test::read_expected("mat5_plain.holes.expected.npy");
  int64_t count = 0, nan = 0, inf = 0;
  double sum = 0, lo = 1e300, hi = -1e300;
  for (float v : want.values) {
    if (std::isnan(v)) ++nan;
    else if (std::isinf(v)) ++inf;
    else count++, sum += v, lo = std::min(lo, double(v)), hi = std::max(hi, double(v));
  }
  double ss = 0;
  for (float v : want.values)
    if (std::isfinite(v)) ss += (v - sum / double(count)) * (v - sum / double(count));
  CHECK(s.count == count);
  CHECK(s.nan == 1);
  CHECK(s.inf == 1);
  CHECK(s.min == lo);
  CHECK(s.max == hi);
  CHECK(s.mean == Approx(sum / double(count)).epsilon(1e-12));
  CHECK(s.std == Approx(std::sqrt(ss / double(count))).epsilon(1e-12));

  test::TempDir tmp("stats_chunks");
  const int64_t rows = 520, row = 128 * 128;  // 8.5 M values: two chunks, the second partial
  std::vector<float> v(static_cast<size_t>(rows * row));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(std::sin(double(i) * 0.001) * 3 + double(i % 7));
  write_npy(tmp / "big.npy", "f4", {rows, 128, 128}, v.data());
  const auto big = open_array_file(tmp / "big.npy");
  const ArrayStats b = array_stats(*big, big->arrays().front());
  double bs = 0, bss = 0;
  for (float x : v) bs += x;
  const double bm = bs / double(v.size());
  for (float x : v) bss += (x - bm) * (x - bm);
  CHECK(b.count == int64_t(v.size()));
  CHECK(b.mean == Approx(bm).epsilon(1e-12));
  CHECK(b.std == Approx(std::sqrt(bss / double(v.size()))).epsilon(1e-10));
  // The same file through a layout that moves every value, across the chunk boundary.
  const LoadedDataset d = open_dataset(tmp / "big.npy", {"", "HWT"});  // (H, W, T) = (520, 128, 128)
  REQUIRE(d.values.shape() == Shape{1, 128, 1, 520, 128});
  const float* p = d.values.data<float>();
  int64_t bad = 0;
  for (int64_t t = 0; t < 128; t += 7)
    for (int64_t h = 0; h < rows; h += 13)
      for (int64_t w = 0; w < 128; w += 5) bad += p[(t * rows + h) * 128 + w] != v[size_t((h * 128 + w) * 128 + t)];
  CHECK(bad == 0);
}
