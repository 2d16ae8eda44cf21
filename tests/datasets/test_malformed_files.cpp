// Malformed and hostile data files: each gives one sdkd::Error whose message starts with the
// file's path and names the fault; none crashes, hangs or allocates what it merely declares.
// Truncations cut every fixture at many points; the MAT v5 faults are assembled byte by byte
// here (MatBytes, after the MAT-file format's description, independently of the reader).
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "common/fixtures.hpp"
#include "common/toy.hpp"
#include "data_fixtures.hpp"
#include "sdkd/datasets/array_file.hpp"
#include "sdkd/datasets/open_dataset.hpp"

using namespace sdkd;
using namespace sdkd::data;
using sdkd::test::check_read_error;
using sdkd::test::fixture;
using sdkd::test::read_bytes;
using sdkd::test::TempDir;
using sdkd::test::write_bytes;

namespace {

// Opens a file and reads every array it lists in full: what a loader would do.
void open_and_read(const std::string& path) {
  const auto f = open_array_file(path);
  for (const auto& a : f->arrays()) {
    std::vector<float> out(static_cast<size_t>(a.numel()));
    f->read_rows(a.name, 0, a.shape[0], out.data());
  }
}

// MAT v5 bytes in either byte order (MathWorks "MAT-File Format": 128-byte header; 8-byte tags
// with payloads padded to 8; small elements of <= 4 bytes; miMATRIX sub-elements).
struct MatBytes {
  bool big = false;

  std::string u32(uint32_t v) const {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[size_t(big ? 3 - i : i)] = char((v >> (8 * i)) & 0xff);
    return s;
  }
  std::string header(uint16_t version = 0x0100) const {
    std::string h = "MATLAB 5.0 MAT-file, written by test_malformed_files.cpp";
    h.resize(116, ' ');
    h += std::string(8, '\0');
    h += big ? std::string{char(version >> 8), char(version & 0xff)} : std::string{char(version & 0xff), char(version >> 8)};
    return h + (big ? "MI" : "IM");
  }
  std::string element(uint32_t type, const std::string& payload, bool small_ok = true) const {
    if (small_ok && payload.size() <= 4) return u32(uint32_t(payload.size()) << 16 | type) + payload + std::string(4 - payload.size(), '\0');
    return u32(type) + u32(uint32_t(payload.size())) + payload + std::string((8 - payload.size() % 8) % 8, '\0');
  }
  // A variable: class `cls`, dims, name, real part of element type `stored` holding `data`.
  std::string matrix(const std::string& name, uint32_t cls, const std::vector<int32_t>& dims, uint32_t stored,
                     const std::string& data, uint32_t flag_bits = 0) const {
    std::string dim_bytes;
    for (int32_t d : dims) dim_bytes += u32(uint32_t(d));
    const std::string body = element(6, u32(cls | flag_bits) + u32(0), false) + element(5, dim_bytes, false) +
                             element(1, name) + element(stored, data);
    return element(14, body, false);
  }
  std::string compressed(const std::string& elem) const {
    uLongf n = compressBound(uLong(elem.size()));
    std::string z(n, '\0');
    REQUIRE(compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(elem.data()), uLong(elem.size())) == Z_OK);
    z.resize(n);
    return u32(15) + u32(uint32_t(z.size())) + z;
  }
  std::string doubles(std::initializer_list<double> v) const {
    std::string s;
    for (double x : v) {
      uint64_t b;
      std::memcpy(&b, &x, 8);
      for (int i = 0; i < 8; ++i) s += char((b >> (8 * (big ? 7 - i : i))) & 0xff);
    }
    return s;
  }
};

constexpr uint32_t kDouble = 6, kMiDouble = 9, kMiUint8 = 2;

}  // namespace

TEST_CASE("malformed: a MatBytes file is read by the reader (the builder itself is right)", "[malformed]") {
  TempDir tmp("malformed_builder");
  for (bool big : {false, true}) {
    const MatBytes m{big};
    const std::string path = tmp / (big ? "be.mat" : "le.mat");
    write_bytes(path, m.header() + m.matrix("x", kDouble, {1, 3}, kMiDouble, m.doubles({1.5, -2, 3})) +
                          m.compressed(m.matrix("y", kDouble, {2, 1}, kMiUint8, std::string("\x07\xff", 2))));
    const auto f = open_array_file(path);
    std::vector<float> x(3), y(2);
    f->read_rows("x", 0, 1, x.data());
    f->read_rows("y", 0, 2, y.data());
    CHECK(x == std::vector<float>{1.5f, -2.f, 3.f});
    CHECK(y == std::vector<float>{7.f, 255.f});
  }
}

TEST_CASE("malformed: every fixture cut short at many points gives one error naming the file, or reads what is left",
          "[malformed]") {
  TempDir tmp("malformed_cuts");
  int errors = 0, cuts = 0;
  for (const std::string name : {"mat5_plain.mat", "mat5_zip.mat", "mat5_be.mat", "mat5_stored.mat", "mat5_one.mat",
                                 "npy_f4_le.npy", "npy_fortran_be_i2.npy", "npy_v3_f4.npy", "npy_frames5.npy"}) {
    const std::string bytes = read_bytes(fixture(name));
    std::set<size_t> points;
    for (size_t c = 0; c < std::min<size_t>(bytes.size(), 300); ++c) points.insert(c);
    for (size_t c = 300; c < bytes.size(); c += 97) points.insert(c);
    for (size_t k = 1; k <= 16 && k <= bytes.size(); ++k) points.insert(bytes.size() - k);
    for (size_t c : points) {
      const std::string path = tmp / ("cut_" + std::to_string(c) + "_" + name);
      write_bytes(path, bytes.substr(0, c));
      CAPTURE(name, c);
      ++cuts;
      try {
        open_and_read(path);
        CHECK(name.rfind("mat5_", 0) == 0);  // only a MAT file can end cleanly between variables
      } catch (const Error& e) {
        ++errors;
        CHECK(std::string(e.what()).rfind(path + ":", 0) == 0);
      }
      std::filesystem::remove(path);
    }
  }
  CHECK(errors > cuts * 9 / 10);
}

TEST_CASE("malformed: unknown or damaged magic bytes and headers", "[malformed]") {
  TempDir tmp("malformed_magic");
  const MatBytes m;
  const auto open = [](const std::string& p) { open_and_read(p); };
  write_bytes(tmp / "empty.mat", "");
  check_read_error(tmp / "empty.mat", open, {"unknown file format (0 bytes)", ".npy", "MAT-file", "HDF5"});
  write_bytes(tmp / "text.npy", "just some text, long enough to be looked at as a header of any format at all");
  check_read_error(tmp / "text.npy", open, {"unknown file format", "\\x93NUMPY"});
  write_bytes(tmp / "v4.mat", std::string("\0\0\0\0\x02\0\0\0\x03\0\0\0", 12) + std::string(40, 'x'));
  check_read_error(tmp / "v4.mat", open, {"unknown file format", "MAT v4"});
  write_bytes(tmp / "short.mat", m.header().substr(0, 100));
  check_read_error(tmp / "short.mat", open, {"not a MAT v5 file: 100 bytes"});
  write_bytes(tmp / "version.mat", m.header(0x0200));
  check_read_error(tmp / "version.mat", open, {"unsupported MAT v5 header version 0x200"});
  std::string endian = m.header();
  endian[126] = 'X';
  write_bytes(tmp / "endian.mat", endian);
  check_read_error(tmp / "endian.mat", open, {"byte-order indicator is not 'IM' or 'MI'"});
  // A MAT v7.3 header goes to the HDF5 reader, which names the file whether or not it is built.
  std::string v73 = "MATLAB 7.3 MAT-file, Platform: GLNXA64";
  v73.resize(512, ' ');
  write_bytes(tmp / "v73.mat", v73);
  check_read_error(tmp / "v73.mat", open, {});
  write_bytes(tmp / "stray.mat", m.header() + m.matrix("x", kDouble, {1, 1}, kMiDouble, m.doubles({1})) + "abc");
  check_read_error(tmp / "stray.mat", open, {"3 stray bytes at the end"});
}

TEST_CASE("malformed: sizes that overflow, lengths past the end and inconsistent elements", "[malformed]") {
  TempDir tmp("malformed_sizes");
  const MatBytes m;
  const auto open = [](const std::string& p) { open_and_read(p); };
  const std::string h = m.header();
  const auto file = [&](const std::string& name, const std::string& body) {
    write_bytes(tmp / name, h + body);
    return tmp / name;
  };
  // (2^31 - 1)^3 doubles: more bytes than int64 counts; refused before any allocation.
  check_read_error(file("overflow.mat", m.matrix("x", kDouble, {2147483647, 2147483647, 2147483647}, kMiDouble, "")),
                   open, {"variable 'x' has dimensions 2147483647x2147483647x2147483647, more bytes than 64 bits can count"});
  check_read_error(file("nbytes.mat", m.matrix("x", kDouble, {1000, 1000}, kMiDouble, m.doubles({1, 2}))), open,
                   {"variable 'x' (1000x1000, stored as miDOUBLE) needs 8000000 bytes of data, its element holds 16"});
  std::string past = m.matrix("x", kDouble, {1, 2}, kMiDouble, m.doubles({1, 2}));
  past.replace(4, 4, m.u32(1u << 30));  // the miMATRIX claims 1 GiB
  check_read_error(file("past.mat", past), open, {"miMATRIX element of 1073741824 bytes runs past the end"});
  std::string small = m.matrix("x", kDouble, {1, 1}, kMiDouble, m.doubles({1}));
  small.replace(8, 4, m.u32(6u << 16 | 6));  // the flags as a "small" element of 6 bytes
  check_read_error(file("small.mat", small), open, {"small data element claims 6 bytes"});
  check_read_error(file("negdim.mat", m.matrix("x", kDouble, {2, -1}, kMiDouble, "")), open, {"negative dimension -1"});
  check_read_error(file("name.mat", m.matrix(std::string("a\x01", 2), kDouble, {1, 1}, kMiDouble, m.doubles({1}))), open,
                   {"not printable ASCII"});
  check_read_error(file("stored.mat", m.matrix("x", kDouble, {1, 1}, 16, "abcdefgh")), open,
                   {"the real part of 'x' is stored as miUTF8; expected a numeric type"});
  check_read_error(file("twice.mat", m.matrix("x", kDouble, {1, 1}, kMiDouble, m.doubles({1})) +
                                         m.matrix("x", kDouble, {1, 1}, kMiDouble, m.doubles({2}))),
                   open, {"variable 'x' appears twice"});
  std::string flags = m.matrix("x", kDouble, {1, 1}, kMiDouble, m.doubles({1}));
  flags.replace(8, 4, m.u32(5));  // the flags element typed miINT32
  check_read_error(file("flags.mat", flags), open, {"expected the array flags (miUINT32, 8 bytes), found miINT32"});

  // .npy: a shape whose byte count overflows, and a header longer than the file.
  std::string npy = read_bytes(fixture("npy_f4_le.npy"));
  const size_t at = npy.find("(3, 4, 2)");
  REQUIRE(at != std::string::npos);
  std::string huge = npy;
  huge.replace(at, 9, "(4294967296, 4294967296, 2)");
  huge.erase(huge.find('\n') - 18, 18);  // keep the header length as it was
  write_bytes(tmp / "huge.npy", huge);
  check_read_error(tmp / "huge.npy", open, {"too large (byte count overflows 64 bits)"});
  std::string longer = npy;
  longer[8] = char(0xff);
  longer[9] = char(0x7f);
  write_bytes(tmp / "longer.npy", longer);
  check_read_error(tmp / "longer.npy", open, {"goes beyond the end of the file"});
}

TEST_CASE("malformed: compressed variables: zip bombs are refused and damaged streams named", "[malformed]") {
  TempDir tmp("malformed_zlib");
  const MatBytes m;
  const auto open = [](const std::string& p) { open_and_read(p); };
  const std::string h = m.header();
  // 5e8 doubles (4 GB) declared by a stream of a few dozen bytes: zlib cannot inflate that
  // much (1032:1 at most), so nothing that size is allocated. The real part's tag is there,
  // its 4 GB of payload are not.
  const uint32_t bomb_bytes = 4000000000u;
  const std::string body = m.element(6, m.u32(kDouble) + m.u32(0), false) + m.element(5, m.u32(1) + m.u32(500000000), false) +
                           m.element(1, "u") + m.u32(kMiDouble) + m.u32(bomb_bytes);
  write_bytes(tmp / "bomb.mat", h + m.compressed(m.u32(14) + m.u32(uint32_t(body.size()) + bomb_bytes) + body));
  check_read_error(tmp / "bomb.mat", open, {"'u') declares 4000000", "more than zlib can inflate its"});

  // A stream that ends before the data it declares: found at open when the whole stream fits
  // the first inflated block, else when the variable is read.
  for (int32_t n : {1000, 20000}) {
    const std::string full = m.matrix("u", kDouble, {1, n}, kMiDouble, std::string(size_t(n) * 8, '\x01'));
    const std::string path = tmp / ("short_stream_" + std::to_string(n) + ".mat");
    write_bytes(path, h + m.compressed(full.substr(0, full.size() - 4000)));
    check_read_error(path, open, {"inflates to", "bytes, but declares"});
  }

  // Not zlib at all.
  write_bytes(tmp / "garbage.mat", h + m.u32(15) + m.u32(16) + std::string(16, '\x55'));
  check_read_error(tmp / "garbage.mat", open, {"is not a valid zlib stream"});
}

TEST_CASE("malformed: a variable that is not numeric, asked for by name, says what it is", "[malformed]") {
  TempDir tmp("malformed_class");
  const MatBytes m;
  std::string cell = m.element(14, m.element(6, m.u32(1) + m.u32(0), false) + m.element(5, m.u32(1) + m.u32(1), false) +
                                       m.element(1, "c"), false);
  std::string chars = m.matrix("s", 4, {1, 2}, 4, std::string("a\0b\0", 4));
  write_bytes(tmp / "classes.mat", m.header() + cell + chars + m.matrix("z", 99, {1, 1}, kMiDouble, m.doubles({1})) +
                                       m.matrix("i", kDouble, {1, 1}, kMiDouble, m.doubles({1, 2}).substr(0, 8), 0x800));
  const auto f = open_array_file(tmp / "classes.mat");
  CHECK(f->arrays().empty());
  const auto open_var = [&](const std::string& var) {
    return [var](const std::string& p) { open_dataset(p, {var, ""}); };
  };
  check_read_error(tmp / "classes.mat", open_var("c"), {"'c' is a cell array (1x1), not a numeric array"});
  check_read_error(tmp / "classes.mat", open_var("s"), {"'s' is a char array"});
  check_read_error(tmp / "classes.mat", open_var("z"), {"'z' is a MATLAB class 99"});
  check_read_error(tmp / "classes.mat", open_var("i"), {"'i' is a complex float64"});
  check_read_error(tmp / "classes.mat", [](const std::string& p) { open_dataset(p); },
                   {"no numeric array to read", "c: cell array", "s: char array", "i: complex"});
  // read_rows itself refuses them too (the HDF5-style error for a direct caller).
  std::vector<float> out(1);
  check_read_error(tmp / "classes.mat", [&](const std::string&) { f->read_rows("c", 0, 1, out.data()); },
                   {"variable 'c' is a cell array"});
}
