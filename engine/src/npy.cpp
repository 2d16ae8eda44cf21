#include "sdkd/npy.hpp"

#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "sdkd/atomic_file.hpp"

namespace sdkd {
namespace {

struct DtypeInfo {
  const char* code;
  const char* name;
  int64_t size;
};

constexpr std::array<DtypeInfo, 14> kDtypes{{
    {"b1", "bool", 1},     {"i1", "int8", 1},      {"u1", "uint8", 1},     {"i2", "int16", 2},
    {"u2", "uint16", 2},   {"f2", "float16", 2},   {"i4", "int32", 4},     {"u4", "uint32", 4},
    {"f4", "float32", 4},  {"i8", "int64", 8},     {"u8", "uint64", 8},    {"f8", "float64", 8},
    {"c8", "complex64", 8}, {"c16", "complex128", 16},
}};

const DtypeInfo* find_dtype(const std::string& code) {
  for (const auto& d : kDtypes)
    if (code == d.code) return &d;
  return nullptr;
}

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr int64_t kAlign = 64;  // NumPy pads the header so the data starts 64-byte aligned

// Header text quoted in a message, non-printable bytes as '?': an error stays one line.
std::string printable(std::string s) {
  for (char& c : s)
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  return s;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Product of the dimensions, refusing negative sizes and int64 overflow (a hostile header
// must not make us allocate a wrapped-around size).
int64_t checked_numel(const std::vector<int64_t>& shape, int64_t itemsize, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : shape) {
    SDKD_CHECK(d >= 0, where, ": negative dimension in shape ", shape_text(shape));
    if (d == 0) return 0;
    SDKD_CHECK(n <= std::numeric_limits<int64_t>::max() / itemsize / d, where, ": shape ",
               shape_text(shape), " is too large (byte count overflows 64 bits)");
    n *= d;
  }
  return n;
}

// A parser for the one Python literal NumPy writes as the header:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// It accepts exactly the grammar of that dict (either quote style, optional trailing commas,
// whitespace anywhere Python allows it) and rejects anything else.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  struct Fields {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
  };

  Fields parse() {
    Fields f;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    skip_ws();
    while (peek() != '}') {
      std::string key = parse_string("a quoted key");
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        SDKD_CHECK(!have_descr, fail("duplicate key 'descr'"));
        SDKD_CHECK(peek() != '[', path_,
                   ": structured (record) dtypes are not supported; expected a plain numeric array");
        f.descr = parse_string("a quoted dtype such as '<f4'");
        have_descr = true;
      } else if (key == "fortran_order") {
        SDKD_CHECK(!have_order, fail("duplicate key 'fortran_order'"));
        f.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        SDKD_CHECK(!have_shape, fail("duplicate key 'shape'"));
        f.shape = parse_shape();
        have_shape = true;
      } else {
        throw Error(fail("unexpected key '" + printable(key) + "' (expected only descr, fortran_order, shape)"));
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        skip_ws();
      } else {
        SDKD_CHECK(peek() == '}', fail("expected ',' or '}'"));
      }
    }
    ++pos_;
    skip_ws();
    SDKD_CHECK(pos_ == s_.size(), fail("unexpected text after the closing '}'"));
    SDKD_CHECK(have_descr && have_order && have_shape, path_,
               ": .npy header lacks ", !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'",
               " (expected keys descr, fortran_order, shape)");
    return f;
  }

 private:
  std::string fail(const std::string& what) const {
    return str_cat(path_, ": malformed .npy header at character ", pos_, ": ", what, " in ",
                   excerpt());
  }
  std::string excerpt() const {
    std::string e = s_.substr(0, 120);
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    e = printable(e);
    return "\"" + e + (s_.size() > 120 ? "...\"" : "\"");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    SDKD_CHECK(peek() == c, fail(std::string("expected '") + c + "'"));
    ++pos_;
  }
  std::string parse_string(const char* what) {
    char q = peek();
    SDKD_CHECK(q == '\'' || q == '"', fail(std::string("expected ") + what));
    size_t end = s_.find(q, pos_ + 1);
    SDKD_CHECK(end != std::string::npos, fail("unterminated string"));
    std::string v = s_.substr(pos_ + 1, end - pos_ - 1);
    SDKD_CHECK(v.find('\\') == std::string::npos && v.find('\n') == std::string::npos,
               fail("unsupported character in string"));
    pos_ = end + 1;
    return v;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    throw Error(fail("expected True or False"));
  }
  int64_t parse_dim() {
    SDKD_CHECK(std::isdigit(static_cast<unsigned char>(peek())),
               fail("expected a non-negative integer dimension"));
    int64_t v = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      int digit = peek() - '0';
      SDKD_CHECK(v <= (std::numeric_limits<int64_t>::max() - digit) / 10, fail("dimension too large"));
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 era files wrote long integers as 3L
    return v;
  }
  // A Python tuple of ints: (), (3,), (3, 4) or (3, 4,). "(3)" is an int in Python, not a tuple.
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    skip_ws();
    bool trailing_comma = false;
    while (peek() != ')') {
      shape.push_back(parse_dim());
      skip_ws();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        skip_ws();
        trailing_comma = true;
      } else {
        SDKD_CHECK(peek() == ')', fail("expected ',' or ')' in shape"));
      }
    }
    ++pos_;
    SDKD_CHECK(shape.size() != 1 || trailing_comma, fail("shape with one dimension must be written (n,)"));
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

uint32_t read_le(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The dtype code from a descr. Strict (what read_npy and its NpyArray promise): little-endian
// only. Otherwise ('>' big-endian, '=' and '|' native) the byte order is returned in
// *big_endian for readers that convert (datasets/npy_file.cpp).
std::string dtype_from_descr(const std::string& raw, const std::string& path, bool* big_endian = nullptr) {
  SDKD_CHECK(!raw.empty(), path, ": empty dtype descr in .npy header");
  const std::string descr = printable(raw);
  char order = descr[0];
  std::string code = descr.substr(1);
  const DtypeInfo* info = find_dtype(code);
  SDKD_CHECK(order == '<' || order == '>' || order == '|' || order == '=', path,
             ": unsupported dtype '", descr, "'; expected a numeric dtype such as '<f4'");
  SDKD_CHECK(info, path, ": unsupported dtype '", descr,
             "'; expected bool, int8..int64, uint8..uint64, float16/32/64 or complex64/128");
  if (info->size == 1) return code;  // byte order is meaningless for single bytes
  if (big_endian) {
    *big_endian = order == '>' || (order != '<' && std::endian::native == std::endian::big);
    return code;
  }
  SDKD_CHECK(order != '>', path, ": big-endian data ('", descr,
             "') is not supported; expected little-endian ('<", code, "'); convert with "
             "arr.astype(arr.dtype.newbyteorder('<'))");
  SDKD_CHECK(order == '<', path, ": dtype '", descr, "' has no explicit byte order; expected '<", code, "'");
  return code;
}

std::string normalize_dtype(const std::string& dtype, const std::string& path) {
  std::string code = dtype;
  if (!code.empty() && (code[0] == '<' || code[0] == '|')) code = code.substr(1);
  SDKD_CHECK(find_dtype(code), path, ": unknown dtype '", dtype, "'; expected a code such as 'f4'");
  return code;
}

std::ifstream open_binary(const std::string& path) {
  std::error_code ec;
  SDKD_CHECK(std::filesystem::exists(path, ec), path, ": no such file");
  SDKD_CHECK(!std::filesystem::is_directory(path, ec), path, ": is a directory, expected a .npy file");
  std::ifstream in(path, std::ios::binary);
  SDKD_CHECK(in.is_open(), path, ": cannot open for reading (permissions?)");
  return in;
}

void read_exact(std::ifstream& in, int64_t offset, void* dst, int64_t n, const std::string& path) {
  if (n == 0) return;
  in.seekg(offset);
  in.read(static_cast<char*>(dst), n);
  SDKD_CHECK(in.gcount() == n, path, ": read failed at byte ", offset, " (", n,
             " bytes wanted, ", in.gcount(), " read); was the file changed while reading?");
}

}  // namespace

int64_t npy_itemsize(const std::string& dtype) {
  const DtypeInfo* info = find_dtype(dtype);
  SDKD_CHECK(info, "unknown .npy dtype code '", dtype, "'; expected one of b1 i1 u1 i2 u2 f2 i4 u4 f4 i8 u8 f8 c8 c16");
  return info->size;
}

std::string npy_dtype_name(const std::string& dtype) {
  const DtypeInfo* info = find_dtype(dtype);
  return info ? info->name : dtype;
}

std::string npy_descr(const std::string& dtype) {
  return (npy_itemsize(dtype) == 1 ? "|" : "<") + dtype;
}

int64_t NpyHeader::numel() const { return checked_numel(shape, itemsize(), "npy header"); }

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void NpyArray::check_type(const char* requested) const {
  SDKD_CHECK(dtype == requested, "NpyArray holds ", npy_dtype_name(dtype), " ('", dtype,
             "') data; it was accessed as ", npy_dtype_name(requested), " ('", requested, "')");
}

namespace {
// Both header readers: `any` accepts every byte order and Fortran order (read_npy_header_any),
// otherwise only what NpyArray can hold (read_npy_header).
NpyHeader read_header(const std::string& path, bool any) {
  std::ifstream in = open_binary(path);
  std::error_code ec;
  const int64_t file_size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  SDKD_CHECK(!ec, path, ": cannot get the file size: ", ec.message());

  unsigned char prefix[12] = {};
  in.read(reinterpret_cast<char*>(prefix), 10);
  SDKD_CHECK(in.gcount() == 10, path, ": not a .npy file (only ", file_size,
             " bytes; a .npy file starts with a 10-byte preamble)");
  SDKD_CHECK(std::memcmp(prefix, kMagic, kMagicLen) == 0, path,
             ": not a .npy file (expected the magic bytes \\x93NUMPY at the start)");
  const int major = prefix[6], minor = prefix[7];
  SDKD_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, path,
             ": unsupported .npy format version ", major, ".", minor, "; expected 1.0, 2.0 or 3.0");
  int64_t prefix_len = 10, header_len = read_le(prefix + 8, 2);
  if (major >= 2) {
    in.read(reinterpret_cast<char*>(prefix + 10), 2);
    SDKD_CHECK(in.gcount() == 2, path, ": truncated .npy preamble");
    prefix_len = 12;
    header_len = read_le(prefix + 8, 4);
  }
  SDKD_CHECK(prefix_len + header_len <= file_size, path, ": header length ", header_len,
             " goes beyond the end of the file (", file_size, " bytes)");
  std::string text(static_cast<size_t>(header_len), '\0');
  read_exact(in, prefix_len, text.data(), header_len, path);

  HeaderParser::Fields fields = HeaderParser(text, path).parse();
  NpyHeader h;
  h.dtype = dtype_from_descr(fields.descr, path, any ? &h.big_endian : nullptr);
  h.fortran_order = fields.fortran_order;
  SDKD_CHECK(any || !fields.fortran_order, path,
             ": Fortran-order (column-major) arrays are not supported; expected fortran_order False "
             "(save with np.ascontiguousarray)");
  h.shape = fields.shape;
  h.version = major;
  h.data_offset = prefix_len + header_len;

  const int64_t want = checked_numel(h.shape, h.itemsize(), path) * h.itemsize();
  const int64_t have = file_size - h.data_offset;
  SDKD_CHECK(have >= want, path, ": truncated: header promises ", want, " bytes of data (",
             npy_dtype_name(h.dtype), " ", shape_text(h.shape), "), file has ", have);
  SDKD_CHECK(have == want, path, ": ", have - want, " unexpected bytes after the data (header promises ",
             want, " bytes of ", npy_dtype_name(h.dtype), " ", shape_text(h.shape), ", file has ", have, ")");
  return h;
}
}  // namespace

NpyHeader read_npy_header(const std::string& path) { return read_header(path, false); }
NpyHeader read_npy_header_any(const std::string& path) { return read_header(path, true); }

NpyArray read_npy(const std::string& path) {
  NpyHeader h = read_npy_header(path);
  NpyArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.bytes.resize(static_cast<size_t>(h.data_bytes()));
  std::ifstream in = open_binary(path);
  read_exact(in, h.data_offset, a.bytes.data(), h.data_bytes(), path);
  return a;
}

NpyArray read_npy_expect(const std::string& path, const std::string& dtype, int ndim) {
  const std::string code = normalize_dtype(dtype, path);
  NpyHeader h = read_npy_header(path);
  SDKD_CHECK(h.dtype == code, path, ": expected ", npy_dtype_name(code), " ('", npy_descr(code),
             "') data, found '", npy_descr(h.dtype), "' (", npy_dtype_name(h.dtype), ")");
  SDKD_CHECK(ndim < 0 || static_cast<int>(h.shape.size()) == ndim, path, ": expected a ", ndim,
             "-d array, found shape ", shape_text(h.shape), " (", h.shape.size(), "-d)");
  return read_npy(path);
}

NpyArray read_npy_rows(const std::string& path, int64_t first, int64_t count) {
  NpyHeader h = read_npy_header(path);
  SDKD_CHECK(!h.shape.empty(), path, ": cannot read rows of a 0-d array; expected at least 1 dimension");
  SDKD_CHECK(first >= 0 && count >= 0 && first <= h.shape[0] && count <= h.shape[0] - first, path,
             ": rows [", first, ", ", first + count, ") are out of range; the first axis has ",
             h.shape[0], " rows");
  std::vector<int64_t> row_shape(h.shape.begin() + 1, h.shape.end());
  const int64_t row_bytes = checked_numel(row_shape, h.itemsize(), path) * h.itemsize();
  NpyArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.shape[0] = count;
  a.bytes.resize(static_cast<size_t>(row_bytes * count));
  std::ifstream in = open_binary(path);
  read_exact(in, h.data_offset + first * row_bytes, a.bytes.data(), row_bytes * count, path);
  return a;
}

std::string npy_header_bytes(const std::string& dtype, const std::vector<int64_t>& shape) {
  const std::string code = normalize_dtype(dtype, "npy header");
  checked_numel(shape, npy_itemsize(code), "npy header");
  std::string dict = "{'descr': '" + npy_descr(code) + "', 'fortran_order': False, 'shape': " +
                     shape_text(shape) + ", }";
  // Version 1 stores the header length in 16 bits; a longer header (huge ndim) needs version 2.
  auto padded_len = [&](int64_t prefix_len) {
    const int64_t unpadded = prefix_len + static_cast<int64_t>(dict.size()) + 1;  // + '\n'
    return static_cast<int64_t>(dict.size()) + (kAlign - unpadded % kAlign) % kAlign + 1;
  };
  const int version = padded_len(10) <= 65535 ? 1 : 2;
  const int64_t header_len = padded_len(version == 1 ? 10 : 12);
  const int64_t padding = header_len - 1 - static_cast<int64_t>(dict.size());
  std::string preamble(kMagic, kMagicLen);
  preamble += static_cast<char>(version);
  preamble += '\0';
  for (int i = 0; i < (version == 1 ? 2 : 4); ++i) preamble += static_cast<char>((header_len >> (8 * i)) & 0xff);
  return preamble + dict + std::string(static_cast<size_t>(padding), ' ') + "\n";
}

void write_npy(const std::string& path, const std::string& dtype, const std::vector<int64_t>& shape,
               const void* data) {
  const std::string code = normalize_dtype(dtype, path);
  const int64_t itemsize = npy_itemsize(code);
  const int64_t nbytes = checked_numel(shape, itemsize, path) * itemsize;
  SDKD_CHECK(data || nbytes == 0, path, ": write_npy got no data for ", shape_text(shape));
  const std::string header = npy_header_bytes(code, shape);
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    if (nbytes) out.write(static_cast<const char*>(data), nbytes);
  });
}

void write_npy(const std::string& path, const NpyArray& array) {
  const std::string code = normalize_dtype(array.dtype, path);
  const int64_t want = checked_numel(array.shape, npy_itemsize(code), path) * npy_itemsize(code);
  SDKD_CHECK(static_cast<int64_t>(array.bytes.size()) == want, path, ": NpyArray has ",
             array.bytes.size(), " bytes but ", shape_text(array.shape), " of ",
             npy_dtype_name(code), " needs ", want);
  write_npy(path, code, array.shape, array.bytes.data());
}

}  // namespace sdkd
