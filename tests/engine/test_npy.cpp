// .npy reader/writer and the atomic file writer beneath it. Golden files are built byte by byte
// from the format description (NEP 1 / numpy.lib.format), independently of the writer.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "common/fixtures.hpp"
#include "common/toy.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/npy.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using namespace sdkd::test;

namespace {

// A .npy file assembled by hand: magic, version, little-endian header length, header text
// (padded with spaces + '\n' so the data starts at a multiple of 64), then the data bytes.
std::string golden_npy(const std::string& dict, const std::string& data, int version = 1) {
  const size_t prefix = version == 1 ? 10 : 12;
  size_t len = dict.size() + 1;
  while ((prefix + len) % 64) ++len;
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  for (size_t i = 0; i < (version == 1 ? 2u : 4u); ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += dict + std::string(len - dict.size() - 1, ' ') + "\n";
  return out + data;
}

std::string float_bytes(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), 4);  // little-endian host
  return s;
}

}  // namespace

TEST_CASE("npy: round trip for every dtype and shape, including 0-d and empty", "[npy]") {
  TempDir tmp("npy_roundtrip");
  const std::vector<std::string> dtypes = {"b1", "i1", "u1", "i2", "u2", "f2", "i4", "u4",
                                           "f4", "i8", "u8", "f8", "c8", "c16"};
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {7}, {2, 3}, {3, 0, 2}, {1, 2, 3, 2, 2}};
  // Every dtype with a 2-d shape, every shape with a 1-, 4- and 16-byte dtype (each write fsyncs).
  for (const auto& dtype : dtypes) {
    for (const auto& shape : shapes) {
      if (shape != std::vector<int64_t>{2, 3} && dtype != "u1" && dtype != "f4" && dtype != "c16") continue;
      int64_t n = 1;
      for (auto d : shape) n *= d;
      const int64_t bytes = n * sdkd::npy_itemsize(dtype);
      std::vector<uint8_t> data(static_cast<size_t>(bytes));
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
      const std::string path = tmp / ("a_" + dtype + ".npy");
      sdkd::write_npy(path, dtype, shape, data.data());
      CAPTURE(dtype, shape);

      // The data offset is 64-aligned and the file is exactly header + data.
      const sdkd::NpyHeader h = sdkd::read_npy_header(path);
      CHECK(h.data_offset % 64 == 0);
      CHECK(static_cast<int64_t>(fs::file_size(path)) == h.data_offset + bytes);
      CHECK(h.version == 1);

      const sdkd::NpyArray a = sdkd::read_npy(path);
      CHECK(a.dtype == dtype);
      CHECK(a.shape == shape);
      CHECK(a.numel() == n);
      CHECK(a.bytes == data);
    }
  }
  // The temp-then-rename writer leaves only the final files.
  for (const auto& name : tmp.listing()) CHECK(name.find(".tmp.") == std::string::npos);
}

TEST_CASE("npy: writer emits exactly the bytes the format prescribes", "[npy]") {
  TempDir tmp("npy_golden_write");
  const float v[6] = {0.f, 1.f, 2.f, -3.5f, 1e-3f, 42.f};
  sdkd::write_npy(tmp / "x.npy", "f4", {2, 3}, v);
  const std::string expected = golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                          float_bytes({0.f, 1.f, 2.f, -3.5f, 1e-3f, 42.f}));
  CHECK(read_bytes(tmp / "x.npy") == expected);

  // 1-d and 0-d tuples follow Python's spelling: (n,) and ().
  const int32_t one = 7;
  sdkd::write_npy(tmp / "s.npy", "<i4", {}, &one);
  CHECK(read_bytes(tmp / "s.npy") ==
        golden_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", std::string("\x07\0\0\0", 4)));
  const uint8_t u[3] = {1, 2, 255};
  sdkd::write_npy(tmp / "u.npy", "u1", {3}, u);
  CHECK(read_bytes(tmp / "u.npy") ==
        golden_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "\x01\x02\xff"));
}

TEST_CASE("npy: reads hand-built files of versions 1, 2, 3 and NumPy's header variants", "[npy]") {
  TempDir tmp("npy_golden_read");
  const std::string data = float_bytes({1.5f, -2.f, 3.25f, 4.f});
  struct Case {
    std::string dict;
    int version;
  };
  const std::vector<Case> cases = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 1},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 2},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 3},
      // key order, double quotes, no trailing commas, extra whitespace, Python 2 long ints
      {"{\"shape\": (2,2), \"fortran_order\" : False,'descr':'<f4'}", 1},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }", 1},
      {"{'descr': '<f4',\n 'fortran_order': False,\t'shape': ( 2 , 2 , ) }", 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.dict, c.version);
    write_bytes(tmp / "g.npy", golden_npy(c.dict, data, c.version));
    const sdkd::NpyArray a = sdkd::read_npy(tmp / "g.npy");
    REQUIRE(a.shape == std::vector<int64_t>{2, 2});
    const float* p = a.data<float>();
    CHECK(p[0] == 1.5f);
    CHECK(p[1] == -2.f);
    CHECK(p[2] == 3.25f);
    CHECK(p[3] == 4.f);
    CHECK(sdkd::read_npy_header(tmp / "g.npy").version == c.version);
  }
  // NumPy >= 1.24 pads extra spaces after the dict so the header can grow in place.
  write_bytes(tmp / "pad.npy",
              golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }" + std::string(21, ' '), data));
  CHECK(sdkd::read_npy(tmp / "pad.npy").numel() == 4);
}

TEST_CASE("npy: header too long for version 1 is written as version 2", "[npy]") {
  TempDir tmp("npy_v2");
  std::vector<int64_t> shape(25000, 1);  // "1, " * 25000 does not fit a 16-bit length
  shape[3] = 2;
  const double v[2] = {3.0, -1.0};
  sdkd::write_npy(tmp / "wide.npy", "f8", shape, v);
  const sdkd::NpyHeader h = sdkd::read_npy_header(tmp / "wide.npy");
  CHECK(h.version == 2);
  CHECK(h.shape == shape);
  CHECK(h.data_offset > 65535);
  CHECK(h.data_offset % 64 == 0);
  const sdkd::NpyArray a = sdkd::read_npy(tmp / "wide.npy");
  CHECK(a.data<double>()[0] == 3.0);
  CHECK(a.data<double>()[1] == -1.0);
}

TEST_CASE("npy: read_npy_rows reads a slice of the first axis", "[npy]") {
  TempDir tmp("npy_rows");
  std::vector<float> v(5 * 2 * 3);
  std::iota(v.begin(), v.end(), 0.f);
  const std::string path = tmp / "d.npy";
  sdkd::write_npy(path, "f4", {5, 2, 3}, v.data());

  const sdkd::NpyArray a = sdkd::read_npy_rows(path, 1, 3);
  CHECK(a.shape == std::vector<int64_t>{3, 2, 3});
  for (int64_t i = 0; i < 18; ++i) CHECK(a.data<float>()[i] == static_cast<float>(6 + i));
  CHECK(sdkd::read_npy_rows(path, 4, 1).data<float>()[5] == 29.f);
  CHECK(sdkd::read_npy_rows(path, 5, 0).bytes.empty());

  REQUIRE_THROWS_WITH(sdkd::read_npy_rows(path, 3, 3),
                      Contains("d.npy") && Contains("rows [3, 6) are out of range") && Contains("5 rows"));
  REQUIRE_THROWS_WITH(sdkd::read_npy_rows(path, -1, 1), Contains("d.npy") && Contains("out of range"));
  const float s = 1.f;
  sdkd::write_npy(tmp / "scalar.npy", "f4", {}, &s);
  REQUIRE_THROWS_WITH(sdkd::read_npy_rows(tmp / "scalar.npy", 0, 1),
                      Contains("scalar.npy") && Contains("0-d"));
}

TEST_CASE("npy: read_npy_expect checks dtype and rank before reading", "[npy]") {
  TempDir tmp("npy_expect");
  const double v[4] = {1, 2, 3, 4};
  const std::string path = tmp / "ns.npy";
  sdkd::write_npy(path, "f8", {2, 2}, v);
  REQUIRE_THROWS_WITH(sdkd::read_npy_expect(path, "f4", 2),
                      Contains("ns.npy: expected float32 ('<f4') data, found '<f8'"));
  REQUIRE_THROWS_WITH(sdkd::read_npy_expect(path, "f8", 5),
                      Contains("ns.npy") && Contains("expected a 5-d array") && Contains("(2, 2)"));
  CHECK(sdkd::read_npy_expect(path, "<f8", 2).data<double>()[3] == 4.0);
  CHECK(sdkd::read_npy_expect(path, "f8", -1).numel() == 4);
  // Typed access refuses a mismatched element type instead of reinterpreting bytes.
  const sdkd::NpyArray a = sdkd::read_npy(path);
  REQUIRE_THROWS_WITH(a.data<float>(), Contains("float64") && Contains("float32"));
}

TEST_CASE("npy: bad files get one clear error naming the file and the expectation", "[npy]") {
  TempDir tmp("npy_bad");
  const std::string data = float_bytes({1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  auto expect_error = [&](const std::string& name, const std::string& bytes, std::initializer_list<std::string> parts) {
    write_bytes(tmp / name, bytes);
    check_read_error(tmp / name, [](const std::string& path) { sdkd::read_npy(path); }, parts);
  };

  const std::string full = golden_npy(ok_dict, data);
  expect_error("truncated.npy", full.substr(0, full.size() - 4),
               {"truncated: header promises 24 bytes of data", "file has 20"});
  expect_error("oversize.npy", full + "xx", {"2 unexpected bytes after the data"});
  expect_error("bigendian.npy", golden_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data),
               {"big-endian", "expected little-endian ('<f4')"});
  expect_error("fortran.npy", golden_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data),
               {"Fortran-order", "fortran_order False"});
  expect_error("garbage.npy", golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", data),
               {"malformed .npy header", "after the closing '}'"});
  expect_error("noquote.npy", golden_npy("{'descr': <f4, 'fortran_order': False, 'shape': (2, 3), }", data),
               {"malformed .npy header", "expected a quoted dtype"});
  expect_error("lowerbool.npy", golden_npy("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }", data),
               {"expected True or False"});
  expect_error("notuple.npy", golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", data),
               {"written (n,)"});
  expect_error("negdim.npy", golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", data),
               {"non-negative integer dimension"});
  expect_error("nokey.npy", golden_npy("{'descr': '<f4', 'shape': (2, 3), }", data), {"lacks 'fortran_order'"});
  expect_error("extrakey.npy",
               golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data),
               {"unexpected key 'x'"});
  expect_error("dupkey.npy",
               golden_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data),
               {"duplicate key 'descr'"});
  expect_error("record.npy",
               golden_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", data),
               {"structured"});
  expect_error("object.npy", golden_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", data),
               {"unsupported dtype '|O'"});
  expect_error("unclosed.npy", golden_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", data),
               {"malformed .npy header"});
  expect_error("magic.npy", "PK\x03\x04 this is a zip file, not an npy one", {"magic bytes"});
  expect_error("short.npy", "\x93NUM", {"not a .npy file"});
  std::string v4 = full;
  v4[6] = 4;
  expect_error("version.npy", v4, {"unsupported .npy format version 4.0"});
  std::string longhdr = full;
  longhdr[8] = '\xff';
  longhdr[9] = '\x7f';
  expect_error("hdrlen.npy", longhdr, {"header length 32767 goes beyond the end of the file"});
  // Overflowing shapes must fail cleanly rather than wrap around to a small allocation.
  expect_error("huge.npy",
               golden_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data),
               {"too large"});

  REQUIRE_THROWS_WITH(sdkd::read_npy(tmp / "missing.npy"), Contains("missing.npy: no such file"));
  REQUIRE_THROWS_WITH(sdkd::read_npy(tmp.dir.string()), Contains("is a directory"));
}

TEST_CASE("npy: writer rejects bad arguments and never leaves a partial file", "[npy]") {
  TempDir tmp("npy_badwrite");
  const float v[2] = {1, 2};
  REQUIRE_THROWS_WITH(sdkd::write_npy(tmp / "x.npy", "f5", {2}, v), Contains("x.npy") && Contains("unknown dtype 'f5'"));
  REQUIRE_THROWS_WITH(sdkd::write_npy(tmp / "x.npy", "f4", {-1}, v), Contains("x.npy") && Contains("negative"));
  REQUIRE_THROWS_WITH(sdkd::write_npy(tmp / "x.npy", "f4", {2}, nullptr), Contains("x.npy") && Contains("no data"));
  sdkd::NpyArray wrong{"f4", {3}, std::vector<uint8_t>(8)};
  REQUIRE_THROWS_WITH(sdkd::write_npy(tmp / "x.npy", wrong), Contains("x.npy") && Contains("needs 12"));
  const std::string in_missing_dir = tmp / "no/such/dir/x.npy";
  REQUIRE_THROWS_WITH(sdkd::write_npy(in_missing_dir, "f4", {2}, v),
                      Contains(in_missing_dir) && Contains("cannot open"));
  CHECK(tmp.listing().empty());
}

TEST_CASE("atomic_file: failed writes leave the old file and no temporary", "[atomic_file]") {
  TempDir tmp("npy_atomic");
  const std::string path = tmp / "report.json";
  sdkd::write_text_atomic(path, "old");
  CHECK(sdkd::read_text_file(path) == "old");

  // A writer that fails half-way: the exception passes through, the target keeps its content.
  REQUIRE_THROWS_WITH(sdkd::write_file_atomic(path,
                                              [](std::ostream& out) {
                                                out << "partial new content";
                                                throw std::runtime_error("writer broke");
                                              }),
                      "writer broke");
  CHECK(sdkd::read_text_file(path) == "old");
  CHECK(tmp.listing() == std::vector<std::string>{"report.json"});

  // A stream error (the writer puts the stream into a failed state) is reported with the path.
  REQUIRE_THROWS_WITH(sdkd::write_file_atomic(path, [](std::ostream& out) { out.setstate(std::ios::badbit); }),
                      Contains(path) && Contains("write failed"));
  CHECK(tmp.listing() == std::vector<std::string>{"report.json"});

  // Success replaces the content completely (a shorter text leaves no tail of the old one).
  sdkd::write_text_atomic(path, "new content");
  sdkd::write_text_atomic(path, "n");
  CHECK(sdkd::read_text_file(path) == "n");
  sdkd::write_text_atomic(tmp / "empty.txt", "");
  CHECK(sdkd::read_text_file(tmp / "empty.txt").empty());
  const std::string binary("a\0b\xff", 4);
  sdkd::write_text_atomic(tmp / "bin", binary);
  CHECK(sdkd::read_text_file(tmp / "bin") == binary);

  const std::string missing = tmp / "nowhere/out.txt";
  REQUIRE_THROWS_WITH(sdkd::write_text_atomic(missing, "x"), Contains(missing) && Contains("directory exist"));
  REQUIRE_THROWS_WITH(sdkd::read_text_file(tmp / "absent.cfg"), Contains("absent.cfg") && Contains("cannot open"));
  REQUIRE_THROWS_WITH(sdkd::read_text_file(tmp.dir.string()), Contains("is a directory"));
  CHECK(tmp.listing() == std::vector<std::string>{"bin", "empty.txt", "report.json"});
}
