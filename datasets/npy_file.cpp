#include "sdkd/datasets/npy_file.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sdkd/error.hpp"

namespace sdkd::data {

// ---- the mapping ----

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SDKD_CHECK(fd >= 0, path, ": cannot open for reading: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(str_cat(path, ": not a regular file; expected a data file (.npy, .mat, .h5)"));
  }
  size_ = int64_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_t(size_), PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    if (p == MAP_FAILED) ::close(fd);
    SDKD_CHECK(p != MAP_FAILED, path, ": cannot map ", size_, " bytes for reading: ", std::strerror(err));
    data_ = static_cast<const uint8_t*>(p);
    fd_ = fd;  // kept for forget(): page-cache advice needs the file, not the mapping
  } else {
    ::close(fd);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_t(size_));
  if (fd_ >= 0) ::close(fd_);
}

namespace {
// madvise over [offset, offset + bytes) of the mapping at `base`, widened to multiples of `align`
// (a power of two, at least the page size) in the address space, where the kernel aligns too.
void advise(const uint8_t* base, int64_t size, int64_t offset, int64_t bytes, int64_t align, int advice) {
  if (!base || bytes <= 0 || offset >= size) return;
  const uintptr_t lo = uintptr_t(base), hi = lo + uintptr_t(size);
  const uintptr_t a = uintptr_t(align);
  const uintptr_t begin = std::max(lo, (lo + uintptr_t(std::max<int64_t>(offset, 0))) / a * a);
  const uintptr_t end = std::min(hi, (lo + uintptr_t(offset + bytes) + a - 1) / a * a);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), size_t(end - begin), advice);
}
int64_t page_size() {
  static const int64_t page = ::sysconf(_SC_PAGESIZE);
  return page;
}
}  // namespace

void MappedFile::will_need(int64_t offset, int64_t bytes) const {
  advise(data_, size_, offset, bytes, page_size(), MADV_WILLNEED);
}

void MappedFile::forget(int64_t offset, int64_t bytes) const {
  drop(offset, bytes);  // mapped pages are never dropped from the page cache: unmap them first
  if (fd_ >= 0 && bytes > 0) ::posix_fadvise(fd_, offset, bytes, POSIX_FADV_DONTNEED);
}

void MappedFile::drop(int64_t offset, int64_t bytes) const {
  // One fault maps more than its page: the cached pages of the aligned 64 KiB around it
  // (fault-around) and, on kernels with large folios (ext4, xfs since 6.x), the whole folio, up
  // to a page-table block of 2 MiB. So a span's neighbours get mapped too: drop whole aligned
  // 2 MiB blocks (what they hold of other windows stays cached and faults in cheaply again).
  advise(data_, size_, offset, bytes, std::max<int64_t>(page_size(), 2 << 20), MADV_DONTNEED);
}

// ---- decoding ----

namespace {

template <class U> U byteswap(U v) {
  if constexpr (sizeof(U) == 2) return U(__builtin_bswap16(v));
  else if constexpr (sizeof(U) == 4) return U(__builtin_bswap32(v));
  else return U(__builtin_bswap64(v));
}

template <size_t N> struct UnsignedOf;
template <> struct UnsignedOf<1> { using type = uint8_t; };
template <> struct UnsignedOf<2> { using type = uint16_t; };
template <> struct UnsignedOf<4> { using type = uint32_t; };
template <> struct UnsignedOf<8> { using type = uint64_t; };

// The element at p, read byte by byte (the data need not be aligned for T).
template <class T> T load(const uint8_t* p, bool swap) {
  using U = typename UnsignedOf<sizeof(T)>::type;
  U u;
  std::memcpy(&u, p, sizeof(U));
  if constexpr (sizeof(U) > 1)
    if (swap) u = byteswap(u);
  return std::bit_cast<T>(u);
}

// IEEE binary16 to binary32, exact for every value (subnormals, infinities, NaN payloads).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) {  // subnormal: shift the mantissa up to an implicit leading 1
    exp = 127 - 15 + 1;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

// Store type S (as NumPy names it) -> float32; bool is any nonzero byte.
struct Half {};
template <class S> float to_float(const uint8_t* p, bool swap) {
  if constexpr (std::is_same_v<S, Half>) return half_to_float(load<uint16_t>(p, swap));
  else if constexpr (std::is_same_v<S, bool>) return *p ? 1.0f : 0.0f;
  else return static_cast<float>(load<S>(p, swap));
}

using RunDecoder = void (*)(const uint8_t* src, int64_t n, bool swap, float* out, int64_t out_stride);

// n consecutive elements of type S to out[0], out[stride], ...
template <class S, size_t Size> void decode_run(const uint8_t* src, int64_t n, bool swap, float* out, int64_t stride) {
  for (int64_t i = 0; i < n; ++i) out[i * stride] = to_float<S>(src + i * int64_t(Size), swap);
}

struct DecoderEntry {
  const char* code;
  int64_t size;
  RunDecoder run;
};
constexpr DecoderEntry kDecoders[] = {
    {"b1", 1, decode_run<bool, 1>},       {"i1", 1, decode_run<int8_t, 1>},    {"u1", 1, decode_run<uint8_t, 1>},
    {"i2", 2, decode_run<int16_t, 2>},    {"u2", 2, decode_run<uint16_t, 2>},  {"f2", 2, decode_run<Half, 2>},
    {"i4", 4, decode_run<int32_t, 4>},    {"u4", 4, decode_run<uint32_t, 4>},  {"f4", 4, decode_run<float, 4>},
    {"i8", 8, decode_run<int64_t, 8>},    {"u8", 8, decode_run<uint64_t, 8>},  {"f8", 8, decode_run<double, 8>},
};

const DecoderEntry* find_decoder(const std::string& code) {
  for (const auto& d : kDecoders)
    if (code == d.code) return &d;
  return nullptr;
}

}  // namespace

bool decodable_dtype(const std::string& dtype) { return find_decoder(dtype) != nullptr; }

void decode_span(const uint8_t* data, const std::string& dtype, bool big_endian, int64_t first, int64_t count,
                 float* out) {
  const DecoderEntry* d = find_decoder(dtype);
  SDKD_CHECK(d, "decode_span: dtype '", dtype, "' cannot be converted to float32");
  if (count == 0) return;
  const bool swap = big_endian != (std::endian::native == std::endian::big);
  const uint8_t* src = data + first * d->size;
  if (dtype == "f4" && !swap) std::memcpy(out, src, size_t(count) * sizeof(float));  // our own files
  else d->run(src, count, swap, out, 1);
}

void decode_rows(const uint8_t* data, const std::vector<int64_t>& shape, const std::string& dtype, bool big_endian,
                 bool fortran_order, int64_t first, int64_t count, float* out) {
  const DecoderEntry* d = find_decoder(dtype);
  SDKD_CHECK(d, "decode_rows: dtype '", dtype, "' cannot be converted to float32");
  int64_t rest = 1;
  for (size_t i = 1; i < shape.size(); ++i) rest *= shape[i];
  if (count == 0 || rest == 0) return;
  const bool swap = big_endian != (std::endian::native == std::endian::big);
  if (!fortran_order || shape.size() == 1) return decode_span(data, dtype, big_endian, first * rest, count * rest, out);
  // Column-major: for each index j of the other axes (first of them fastest, as stored) the
  // `count` entries along axis 0 are consecutive; they land `rest` apart in the C-order output.
  const size_t k = shape.size();
  std::vector<int64_t> idx(k, 0), cstride(k, 1);
  for (size_t i = k - 1; i >= 1; --i) cstride[i - 1] = cstride[i] * shape[i];
  int64_t c = 0;  // C-order offset of (0, idx[1], ..., idx[k-1]) in the output
  for (int64_t j = 0; j < rest; ++j) {
    d->run(data + (first + shape[0] * j) * d->size, count, swap, out + c, rest);
    for (size_t a = 1; a < k; ++a) {  // odometer over axes 1..k-1, axis 1 fastest
      c += cstride[a];
      if (++idx[a] < shape[a]) break;
      c -= cstride[a] * shape[a];
      idx[a] = 0;
    }
  }
}

void check_row_range(const std::string& path, const ArrayInfo& a, int64_t first, int64_t count) {
  const std::string label = a.name.empty() ? std::string("the array") : a.name;
  SDKD_CHECK(!a.shape.empty(), path, ": ", label, " is 0-d (a scalar); expected an array with at least one axis");
  SDKD_CHECK(first >= 0 && count >= 0 && first <= a.shape[0] && count <= a.shape[0] - first, path, ": ", label,
             ": entries [", first, ", ", first + count, ") along axis 0 are out of range; the array has ",
             a.shape[0]);
}

// ---- the .npy file ----

NpyFile::NpyFile(const std::string& path) : ArrayFile(path), header_(read_npy_header_any(path)), map_(path) {
  // read_npy_header_any checked size == header + data; the mapping must still agree.
  SDKD_CHECK(map_.size() == header_.data_offset + header_.data_bytes(), path, ": the file changed while it was opened (",
             map_.size(), " bytes now, ", header_.data_offset + header_.data_bytes(), " expected)");
}

std::vector<ArrayInfo> NpyFile::arrays() const {
  if (header_.shape.empty() || !decodable_dtype(header_.dtype)) return {};
  return {ArrayInfo{"", header_.shape, npy_dtype_name(header_.dtype)}};
}

std::vector<SkippedVariable> NpyFile::skipped() const {
  if (!decodable_dtype(header_.dtype))
    return {{"", npy_dtype_name(header_.dtype) + " (complex numbers are not read; save a.real or np.abs(a))"}};
  if (header_.shape.empty()) return {{"", "0-d array (a scalar: no axis to read frames along)"}};
  return {};
}

void NpyFile::read_rows(const std::string& name, int64_t first, int64_t count, float* out) const {
  SDKD_CHECK(name.empty(), path(), ": a .npy file holds one unnamed array, not '", name,
             "' (--var names a variable of a MAT or HDF5 file)");
  const auto list = arrays();
  SDKD_CHECK(!list.empty(), path(), ": no numeric array to read: ", skipped().front().what);
  check_row_range(path(), list.front(), first, count);
  decode_rows(map_.data() + header_.data_offset, header_.shape, header_.dtype, header_.big_endian,
              header_.fortran_order, first, count, out);
}

void NpyFile::read_span(int64_t first, int64_t count, float* out) const {
  SDKD_CHECK(c_order(), path(), ": read_span needs a C-order array; this one is stored in Fortran order");
  const auto list = arrays();
  SDKD_CHECK(!list.empty(), path(), ": no numeric array to read: ", skipped().front().what);
  const int64_t n = list.front().numel();
  SDKD_CHECK(first >= 0 && count >= 0 && first <= n && count <= n - first, path(), ": elements [", first, ", ",
             first + count, ") are out of range; the array has ", n);
  decode_span(map_.data() + header_.data_offset, header_.dtype, header_.big_endian, first, count, out);
}

void NpyFile::will_need(int64_t first, int64_t count) const {
  map_.will_need(header_.data_offset + first * header_.itemsize(), count * header_.itemsize());
}

void NpyFile::release_span(int64_t first, int64_t count) const {
  map_.drop(header_.data_offset + first * header_.itemsize(), count * header_.itemsize());
}

namespace {
// The bytes of rows [first, first + count) of a C-order array, or {0, 0} when they are not one run.
std::pair<int64_t, int64_t> row_bytes(const NpyHeader& h, bool c_order, int64_t first, int64_t count) {
  if (!c_order || h.shape.empty()) return {0, 0};  // a Fortran-order row is spread over the file
  int64_t rest = h.itemsize();
  for (size_t i = 1; i < h.shape.size(); ++i) rest *= h.shape[i];
  return {h.data_offset + first * rest, count * rest};
}
}  // namespace

void NpyFile::release_rows(const std::string& name, int64_t first, int64_t count) const {
  if (!name.empty()) return;
  const auto [offset, bytes] = row_bytes(header_, c_order(), first, count);
  map_.drop(offset, bytes);
}

void NpyFile::forget_rows(const std::string& name, int64_t first, int64_t count) const {
  if (!name.empty()) return;
  const auto [offset, bytes] = row_bytes(header_, c_order(), first, count);
  map_.forget(offset, bytes);
}

}  // namespace sdkd::data
