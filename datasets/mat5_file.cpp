// MAT v5 layout (MathWorks, "MAT-File Format", level 5): a 128-byte header, then data
// elements, each an 8-byte tag (type, byte count; the payload padded to 8 bytes) or a small
// element (byte count <= 4 in the upper half of the first 32-bit word, payload in the next 4
// bytes). A variable is an miMATRIX element holding sub-elements: array flags (class, complex
// and logical bits), dimensions (int32), name, real part, [imaginary part]; or an miCOMPRESSED
// element whose zlib stream inflates to such an miMATRIX element (not padded).
#include "sdkd/datasets/mat5_file.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <zlib.h>

#include "sdkd/error.hpp"

namespace sdkd::data {
namespace {

constexpr uint32_t miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6, miSINGLE = 7,
                   miDOUBLE = 9, miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15, miUTF8 = 16;
constexpr int64_t kHeaderBytes = 128;
// A variable's flags, dimensions and name come from inflating this much of its stream at open.
constexpr int64_t kPrefixBytes = 64 * 1024;
// Deflate cannot expand its input by more than 1032:1 (zlib's FAQ): a declared size beyond that
// is a damaged or hostile file, refused before anything that size is allocated.
constexpr int64_t kMaxInflateRatio = 1032;

// The NumPy code of a stored element type (decode_rows converts it), null for a non-numeric type.
const char* stored_code(uint32_t type) {
  switch (type) {
    case miINT8: return "i1";
    case miUINT8: return "u1";
    case miINT16: return "i2";
    case miUINT16: return "u2";
    case miINT32: return "i4";
    case miUINT32: return "u4";
    case miSINGLE: return "f4";
    case miDOUBLE: return "f8";
    case miINT64: return "i8";
    case miUINT64: return "u8";
    default: return nullptr;
  }
}

std::string type_name(uint32_t type) {
  static const char* names[] = {"",         "miINT8",  "miUINT8",  "miINT16",  "miUINT16",
                                "miINT32",  "miUINT32", "miSINGLE", "(reserved 8)", "miDOUBLE",
                                "(reserved 10)", "(reserved 11)", "miINT64", "miUINT64", "miMATRIX",
                                "miCOMPRESSED", "miUTF8", "miUTF16", "miUTF32"};
  return type >= 1 && type <= 18 ? names[type] : str_cat("type ", type);
}

// The NumPy dtype name of a numeric MATLAB class (mxDOUBLE_CLASS = 6 ... mxUINT64_CLASS = 15).
const char* class_dtype(uint32_t cls) {
  static const char* names[] = {"float64", "float32", "int8",   "uint8",  "int16",
                                "uint16",  "int32",   "uint32", "int64", "uint64"};
  return cls >= 6 && cls <= 15 ? names[cls - 6] : nullptr;
}

std::string class_what(uint32_t cls) {
  switch (cls) {
    case 1: return "cell array";
    case 2: return "struct";
    case 3: return "object";
    case 4: return "char array (text)";
    case 5: return "sparse matrix";
    case 16: return "function handle";
    case 17: return "opaque object (a MATLAB class instance: string, table, ...)";
    default: return str_cat("MATLAB class ", cls);
  }
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

// numel * itemsize, or -1 when it does not fit in int64.
int64_t checked_bytes(const std::vector<int64_t>& dims, int64_t itemsize) {
  int64_t n = itemsize;
  for (int64_t d : dims) {
    if (d == 0) return 0;
    if (n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

// One buffer (the mapped file, or the start of an inflated element) read as data elements in
// the file's byte order; every read is bounds-checked against what the buffer holds.
class ElementReader {
 public:
  struct Tag {
    uint32_t type = 0;
    int64_t nbytes = 0, data = 0, next = 0;
  };

  ElementReader(const uint8_t* p, int64_t size, bool big_endian, const std::string& path, std::string where)
      : p_(p), size_(size), big_(big_endian), path_(path), where_(std::move(where)) {}

  [[noreturn]] void fail(int64_t off, const std::string& what) const {
    throw Error(str_cat(path_, ": malformed MAT v5 file: ", where_, ", byte ", off, ": ", what));
  }
  const uint8_t* at(int64_t off, int64_t n) const {
    if (off < 0 || n < 0 || off > size_ || n > size_ - off)
      fail(off, str_cat(n, " bytes wanted, but ", where_, " ends at byte ", size_));
    return p_ + off;
  }
  uint32_t u32(int64_t off) const {
    const uint8_t* q = at(off, 4);
    return big_ ? uint32_t(q[0]) << 24 | uint32_t(q[1]) << 16 | uint32_t(q[2]) << 8 | q[3]
                : uint32_t(q[3]) << 24 | uint32_t(q[2]) << 16 | uint32_t(q[1]) << 8 | q[0];
  }

  // The element whose tag starts at `off` and whose payload must end by `end` (the enclosing
  // element's end, which may lie beyond this buffer when it is a prefix of an inflated one).
  Tag tag(int64_t off, int64_t end) const {
    if (end - off < 8) fail(off, str_cat("a data element needs an 8-byte tag, only ", std::max<int64_t>(end - off, 0),
                                         " bytes are left in the enclosing element"));
    Tag t;
    const uint32_t first = u32(off);
    if (first >> 16) {  // small element: byte count in the upper 16 bits, payload in the tag's second word
      t.type = first & 0xffffu;
      t.nbytes = first >> 16;
      if (t.nbytes > 4) fail(off, str_cat("small data element claims ", t.nbytes, " bytes (at most 4 fit)"));
      t.data = off + 4;
      t.next = off + 8;
      return t;
    }
    t.type = first;
    t.nbytes = u32(off + 4);
    t.data = off + 8;
    if (t.nbytes > end - t.data)
      fail(off, str_cat(type_name(t.type), " element of ", t.nbytes, " bytes runs past the end of its enclosing element (",
                        end - t.data, " bytes left)"));
    // miCOMPRESSED payloads are not padded; everything else is padded to 8 bytes.
    const int64_t padded = t.type == miCOMPRESSED ? t.nbytes : (t.nbytes + 7) / 8 * 8;
    t.next = std::min(t.data + padded, end);
    return t;
  }

 private:
  const uint8_t* p_;
  int64_t size_;
  bool big_;
  const std::string& path_;
  std::string where_;
};

struct MatrixHeader {
  uint32_t cls = 0;
  bool complex = false, logical = false;
  std::vector<int64_t> dims;
  std::string name;
  ElementReader::Tag real;  // numeric, real classes only
};

// The sub-elements of an miMATRIX payload [begin, end): flags, dimensions, name and, for a
// numeric real array, the real part's tag (its bytes are not touched here).
MatrixHeader parse_matrix(const ElementReader& r, int64_t begin, int64_t end) {
  MatrixHeader m;
  const auto flags = r.tag(begin, end);
  if (flags.type != miUINT32 || flags.nbytes != 8)
    r.fail(begin, str_cat("expected the array flags (miUINT32, 8 bytes), found ", type_name(flags.type), " of ",
                          flags.nbytes, " bytes"));
  const uint32_t f = r.u32(flags.data);
  m.cls = f & 0xffu;
  m.complex = f & 0x800u;
  m.logical = f & 0x200u;

  const auto dims = r.tag(flags.next, end);
  if (dims.type != miINT32 || dims.nbytes % 4 != 0 || dims.nbytes == 0)
    r.fail(flags.next, str_cat("expected the dimensions (miINT32, a multiple of 4 bytes), found ", type_name(dims.type),
                               " of ", dims.nbytes, " bytes"));
  for (int64_t i = 0; i < dims.nbytes / 4; ++i) {
    const int32_t d = int32_t(r.u32(dims.data + 4 * i));
    if (d < 0) r.fail(dims.data + 4 * i, str_cat("negative dimension ", d));
    m.dims.push_back(d);
  }

  const auto name = r.tag(dims.next, end);
  if (name.type != miINT8 && name.type != miUINT8 && name.type != miUTF8)
    r.fail(dims.next, str_cat("expected the array name (miINT8), found ", type_name(name.type)));
  const uint8_t* text = r.at(name.data, name.nbytes);
  m.name.assign(reinterpret_cast<const char*>(text), size_t(name.nbytes));
  for (unsigned char c : m.name)
    if (c < 0x21 || c > 0x7e) r.fail(name.data, "the variable name holds a character that is not printable ASCII");

  if (class_dtype(m.cls) && !m.complex) {
    if (name.next >= end && checked_bytes(m.dims, 1) == 0) {
      m.real = {miDOUBLE, 0, end, end};  // an empty array may come without a real part
    } else {
      m.real = r.tag(name.next, end);
      if (!stored_code(m.real.type))
        r.fail(name.next, str_cat("the real part of '", m.name, "' is stored as ", type_name(m.real.type),
                                  "; expected a numeric type (miINT8 .. miUINT64, miSINGLE, miDOUBLE)"));
    }
  }
  return m;
}

// Inflates the zlib stream [src, src + n) into dst until `want` bytes are out, the stream ends
// or the input runs out; returns the bytes written. Never writes more than `want`.
int64_t inflate_into(const uint8_t* src, int64_t n, uint8_t* dst, int64_t want, const std::string& path,
                     const std::string& where) {
  z_stream z{};
  SDKD_CHECK(inflateInit(&z) == Z_OK, path, ": zlib could not start inflating ", where);
  z.next_in = const_cast<Bytef*>(src);
  z.avail_in = uInt(n);  // a MAT element holds at most 2^32 - 1 bytes: fits uInt
  int64_t done = 0;
  int rc = Z_OK;
  while (done < want && rc == Z_OK) {
    z.next_out = dst + done;
    z.avail_out = uInt(std::min<int64_t>(want - done, int64_t(1) << 30));
    const uInt before = z.avail_out, in_before = z.avail_in;
    rc = inflate(&z, Z_NO_FLUSH);
    done += before - z.avail_out;
    // No progress (input exhausted, or a stream that stalls): the caller sees done < want.
    if (rc == Z_BUF_ERROR || (rc == Z_OK && before == z.avail_out && in_before == z.avail_in)) {
      rc = Z_OK;
      break;
    }
  }
  const std::string msg = z.msg ? z.msg : "";
  inflateEnd(&z);
  SDKD_CHECK(rc == Z_OK || rc == Z_STREAM_END, path, ": malformed MAT v5 file: ", where,
             " is not a valid zlib stream (", msg.empty() ? str_cat("zlib error ", rc) : msg, ")");
  return done;
}

}  // namespace

Mat5File::Mat5File(const std::string& path) : ArrayFile(path), map_(path) {
  const uint8_t* p = map_.data();
  const int64_t size = map_.size();
  SDKD_CHECK(size >= kHeaderBytes, path, ": not a MAT v5 file: ", size, " bytes, but its header alone has ",
             kHeaderBytes);
  SDKD_CHECK(std::memcmp(p, "MATLAB 5.0 MAT-file", 19) == 0, path,
             ": not a MAT v5 file (its header text does not start with \"MATLAB 5.0 MAT-file\")");
  SDKD_CHECK((p[126] == 'I' && p[127] == 'M') || (p[126] == 'M' && p[127] == 'I'), path,
             ": malformed MAT v5 header: byte-order indicator is not 'IM' or 'MI'");
  big_endian_ = p[126] == 'M';
  const int version = big_endian_ ? p[124] << 8 | p[125] : p[125] << 8 | p[124];
  SDKD_CHECK(version == 0x0100, path, ": unsupported MAT v5 header version 0x", std::hex, version,
             " (expected 0x0100)");
  // The subsystem data (MATLAB's object storage) is an unnamed element at this offset, if any.
  bool has_subsys = false;
  for (int i = 116; i < 124; ++i) has_subsys |= p[i] != 0 && p[i] != ' ';
  int64_t subsys = 0;
  if (has_subsys)
    for (int i = 0; i < 8; ++i) subsys |= int64_t(p[big_endian_ ? 116 + i : 123 - i]) << (8 * (7 - i));

  const ElementReader file(p, size, big_endian_, path, "the file");
  int64_t off = kHeaderBytes;
  while (off < size) {
    if (size - off < 8) {  // a writer's zero padding at the very end is harmless
      SDKD_CHECK(std::all_of(p + off, p + size, [](uint8_t b) { return b == 0; }), path,
                 ": malformed MAT v5 file: ", size - off, " stray bytes at the end (byte ", off, ")");
      break;
    }
    const auto t = file.tag(off, size);
    const int64_t here = off;
    off = t.next > here ? t.next : here + 8;  // a zero-length element still advances
    if (here == subsys || t.nbytes == 0) continue;
    Variable v;
    MatrixHeader m;
    if (t.type == miMATRIX) {
      m = parse_matrix(file, t.data, t.data + t.nbytes);
      v.data_offset = m.real.data;
    } else if (t.type == miCOMPRESSED) {
      // Inflate the start of the stream: enough for flags, dimensions, name and the real part's tag.
      const std::string where = str_cat("the compressed variable at byte ", here);
      std::vector<uint8_t> prefix(static_cast<size_t>(kPrefixBytes));
      prefix.resize(size_t(inflate_into(p + t.data, t.nbytes, prefix.data(), kPrefixBytes, path, where)));
      const ElementReader in(prefix.data(), int64_t(prefix.size()), big_endian_, path, "inside " + where);
      SDKD_CHECK(prefix.size() >= 8, path, ": malformed MAT v5 file: ", where, " inflates to only ", prefix.size(),
                 " bytes, not a data element");
      if (in.u32(0) != miMATRIX) continue;  // no variable inside (MATLAB compresses nothing else)
      const int64_t inner_end = 8 + int64_t(in.u32(4));
      m = parse_matrix(in, 8, inner_end);
      v.compressed = true;
      v.data_offset = m.real.data;
      v.zlib_offset = t.data;
      v.zlib_bytes = t.nbytes;
      const int64_t need = m.real.data + m.real.nbytes;
      SDKD_CHECK(need <= t.nbytes * kMaxInflateRatio + kPrefixBytes, path, ": malformed MAT v5 file: ", where, " ('",
                 m.name, "') declares ", need, " bytes, more than zlib can inflate its ", t.nbytes,
                 " compressed bytes to");
      SDKD_CHECK(int64_t(prefix.size()) == kPrefixBytes || need <= int64_t(prefix.size()), path,
                 ": malformed MAT v5 file: ", where, " ('", m.name, "') inflates to ", prefix.size(),
                 " bytes, but declares ", need, " (truncated?)");
    } else {
      continue;  // other top-level elements hold no variable
    }
    if (m.name.empty()) continue;  // MATLAB names every variable; an unnamed one is internal data
    const bool taken = std::any_of(vars_.begin(), vars_.end(), [&](const Variable& x) { return x.info.name == m.name; }) ||
                       std::any_of(skipped_.begin(), skipped_.end(), [&](const SkippedVariable& x) { return x.name == m.name; });
    SDKD_CHECK(!taken, path, ": malformed MAT v5 file: variable '", m.name, "' appears twice");
    if (!class_dtype(m.cls)) {
      skipped_.push_back({m.name, str_cat(class_what(m.cls), " (", dims_text(m.dims), ")")});
      continue;
    }
    if (m.complex) {
      skipped_.push_back({m.name, str_cat("complex ", m.logical ? "logical" : class_dtype(m.cls), " (", dims_text(m.dims),
                                          "; complex numbers are not read: save real(", m.name, "))")});
      continue;
    }
    v.stored = stored_code(m.real.type);
    const int64_t bytes = checked_bytes(m.dims, npy_itemsize(v.stored));
    SDKD_CHECK(bytes >= 0, path, ": malformed MAT v5 file: variable '", m.name, "' has dimensions ", dims_text(m.dims),
               ", more bytes than 64 bits can count");
    SDKD_CHECK(bytes == m.real.nbytes, path, ": malformed MAT v5 file: variable '", m.name, "' (", dims_text(m.dims),
               ", stored as ", type_name(m.real.type), ") needs ", bytes, " bytes of data, its element holds ",
               m.real.nbytes);
    v.data_bytes = bytes;
    v.info = ArrayInfo{m.name, m.dims, m.logical ? "bool" : class_dtype(m.cls)};
    vars_.push_back(std::move(v));
  }
  inflated_.resize(vars_.size());
}

std::vector<ArrayInfo> Mat5File::arrays() const {
  std::vector<ArrayInfo> out;
  for (const auto& v : vars_) out.push_back(v.info);
  return out;
}

const Mat5File::Variable& Mat5File::find(const std::string& name) const {
  for (const auto& v : vars_)
    if (v.info.name == name) return v;
  for (const auto& s : skipped_)
    SDKD_CHECK(s.name != name, path(), ": variable '", name, "' is a ", s.what, ", not a numeric array");
  std::string names;
  for (const auto& v : vars_) names += (names.empty() ? "" : ", ") + v.info.name;
  throw Error(str_cat(path(), ": no variable '", name, "' (numeric variables: ", names.empty() ? "none" : names, ")"));
}

const uint8_t* Mat5File::real_part(const Variable& v) const {
  if (!v.compressed) return map_.data() + v.data_offset;
  if (v.data_bytes == 0) return nullptr;
  const size_t i = size_t(&v - vars_.data());
  std::lock_guard<std::mutex> lock(mutex_);
  auto& buf = inflated_[i];
  const int64_t need = v.data_offset + v.data_bytes;
  if (int64_t(buf.size()) != need) {
    std::vector<uint8_t> tmp(static_cast<size_t>(need));
    const std::string where = str_cat("the compressed variable '", v.info.name, "'");
    const int64_t got = inflate_into(map_.data() + v.zlib_offset, v.zlib_bytes, tmp.data(), need, path(), where);
    SDKD_CHECK(got == need, path(), ": malformed MAT v5 file: ", where, " inflates to ", got, " bytes, but declares ",
               need, " (truncated?)");
    buf = std::move(tmp);
  }
  return buf.data() + v.data_offset;
}

void Mat5File::read_rows(const std::string& name, int64_t first, int64_t count, float* out) const {
  const Variable& v = find(name);
  check_row_range(path(), v.info, first, count);
  decode_rows(real_part(v), v.info.shape, v.stored, big_endian_, /*fortran_order=*/true, first, count, out);
}

}  // namespace sdkd::data
