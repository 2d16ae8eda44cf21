#pragma once
// NumPy .npy files (format versions 1, 2 and 3), little-endian, C order: the format our data
// generator writes and the one people already have from Python. Raw bytes only; the caller
// wraps them in a Tensor. Every error names the file and what was expected.
// read_npy_header_any also describes big-endian and Fortran-order files, for readers that
// convert while they read (datasets/npy_file.hpp); NpyArray always holds little-endian C order.
#include <cstdint>
#include <string>
#include <vector>

#include "sdkd/error.hpp"

namespace sdkd {

// dtype codes are NumPy's kind + item size without the byte-order mark:
// "b1" bool, "i1" "i2" "i4" "i8", "u1" "u2" "u4" "u8", "f2" "f4" "f8", "c8" "c16".
int64_t npy_itemsize(const std::string& dtype);  // throws for an unknown code
std::string npy_dtype_name(const std::string& dtype);  // "f4" -> "float32"
std::string npy_descr(const std::string& dtype);       // "f4" -> "<f4", "u1" -> "|u1"

// The dtype code of a C++ element type, for typed access and typed writes.
template <class T> constexpr const char* npy_dtype_of();
template <> constexpr const char* npy_dtype_of<float>() { return "f4"; }
template <> constexpr const char* npy_dtype_of<double>() { return "f8"; }
template <> constexpr const char* npy_dtype_of<int8_t>() { return "i1"; }
template <> constexpr const char* npy_dtype_of<int16_t>() { return "i2"; }
template <> constexpr const char* npy_dtype_of<int32_t>() { return "i4"; }
template <> constexpr const char* npy_dtype_of<int64_t>() { return "i8"; }
template <> constexpr const char* npy_dtype_of<uint8_t>() { return "u1"; }
template <> constexpr const char* npy_dtype_of<uint16_t>() { return "u2"; }
template <> constexpr const char* npy_dtype_of<uint32_t>() { return "u4"; }
template <> constexpr const char* npy_dtype_of<uint64_t>() { return "u8"; }
template <> constexpr const char* npy_dtype_of<bool>() { return "b1"; }

// What a file's header says, already checked against the file's size.
struct NpyHeader {
  std::string dtype;           // code as above, byte order stripped (see big_endian)
  std::vector<int64_t> shape;  // empty for a 0-d array
  bool big_endian = false;     // only read_npy_header_any sets these two; read_npy_header
  bool fortran_order = false;  // refuses such files
  int version = 1;             // format major version: 1, 2 or 3
  int64_t data_offset = 0;     // bytes before the first element
  int64_t numel() const;
  int64_t itemsize() const { return npy_itemsize(dtype); }
  int64_t data_bytes() const { return numel() * itemsize(); }
};

struct NpyArray {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel() * itemsize bytes, C order, little-endian

  int64_t numel() const;
  // Typed views; throw sdkd::Error if T does not match dtype (so a float64 file is never
  // silently read as float32). std::vector storage is aligned for any scalar type.
  template <class T> const T* data() const {
    check_type(npy_dtype_of<T>());
    return reinterpret_cast<const T*>(bytes.data());
  }
  template <class T> T* data() {
    check_type(npy_dtype_of<T>());
    return reinterpret_cast<T*>(bytes.data());
  }

 private:
  void check_type(const char* requested) const;
};

// Reads and validates the header only (magic, version, header dict, byte order, C order,
// file size == header + numel * itemsize).
NpyHeader read_npy_header(const std::string& path);

// The same checks, but big-endian ('>') and native ('=', '|') byte orders and Fortran order
// are accepted and reported in big_endian / fortran_order.
NpyHeader read_npy_header_any(const std::string& path);

// The whole array.
NpyArray read_npy(const std::string& path);

// read_npy, but first checks dtype (a code such as "f4") and, if ndim >= 0, the number of
// dimensions, so a wrong file fails before its data is read.
NpyArray read_npy_expect(const std::string& path, const std::string& dtype, int ndim);

// Rows [first, first + count) of the first axis, reading only those bytes from disk:
// datasets can be larger than memory. The result's shape is (count, shape[1:]...).
NpyArray read_npy_rows(const std::string& path, int64_t first, int64_t count);

// Writes a C-order little-endian array atomically (temporary file + rename). dtype is a code
// ("f4") or a descr ("<f4"); data may be null only when the shape has zero elements.
void write_npy(const std::string& path, const std::string& dtype,
               const std::vector<int64_t>& shape, const void* data);
void write_npy(const std::string& path, const NpyArray& array);

// The bytes write_npy puts before the data (magic, version, padded header dict), for writers
// that fill a file's data in pieces (tools/pipeline/ns_partial.cpp).
std::string npy_header_bytes(const std::string& dtype, const std::vector<int64_t>& shape);

}  // namespace sdkd
