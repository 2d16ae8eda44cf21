#pragma once
// NumPy .npy files of any numeric dtype, byte order and memory order, as an ArrayFile
// (datasets/array_file.hpp), and the pieces the MAT v5 reader shares with it: the file is
// memory-mapped (a 400 MB FNO array is not read whole to take a few rows), and rows are
// decoded from the mapped bytes to float32 in one place for every dtype code, byte order and
// C or Fortran (column-major: MATLAB's) order.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/datasets/array_file.hpp"
#include "sdkd/npy.hpp"

namespace sdkd::data {

// A whole file mapped read-only (mmap, private). The mapping stays valid while the object
// lives; an empty file maps to size() == 0 and data() == nullptr.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  // Hints about bytes [offset, offset + bytes), widened to whole pages (drop: 2 MiB blocks):
  // fetch them now (madvise WILLNEED), or drop them from this mapping (MADV_DONTNEED; the mapping
  // is read-only, so a later read faults them in again from the page cache or the file). Never
  // an error.
  void will_need(int64_t offset, int64_t bytes) const;
  void drop(int64_t offset, int64_t bytes) const;
  // drop, then out of the page cache too (posix_fadvise DONTNEED): bytes not wanted again soon.
  void forget(int64_t offset, int64_t bytes) const;

 private:
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  int fd_ = -1;
};

// Decodes entries [first, first + count) along axis 0 of an array of `shape` whose elements
// (NumPy dtype code: "f8", "i2", "b1", "f2", ...; not complex) start at `data`, byte-swapped
// when `big_endian`, stored in C order or, when `fortran_order`, column-major. Writes
// count * prod(shape[1:]) float32 values in C order to `out`. The caller has checked the
// range and that the data fit in what it mapped.
void decode_rows(const uint8_t* data, const std::vector<int64_t>& shape, const std::string& dtype, bool big_endian,
                 bool fortran_order, int64_t first, int64_t count, float* out);

// Decodes `count` consecutive elements starting with element `first` (in storage order) of
// data at `data`: the C-order branch of decode_rows, and a span of frames of a C-order array.
void decode_span(const uint8_t* data, const std::string& dtype, bool big_endian, int64_t first, int64_t count,
                 float* out);

// Whether decode_rows can convert this dtype code (every integer, float and bool code).
bool decodable_dtype(const std::string& dtype);

// One error naming the file and the array unless [first, first + count) lies on axis 0 of a
// >= 1-d array: the range check every reader's read_rows starts with.
void check_row_range(const std::string& path, const ArrayInfo& array, int64_t first, int64_t count);

// What a reader lists besides arrays(): the variables it cannot return, by name, with what
// they are ("cell array", "complex double", "0-d array"), for `sdkd data info` and for the
// error that names a --var which is not numeric.
struct SkippedVariable {
  std::string name, what;
};

// A .npy file: one unnamed array (ArrayInfo::name ""), read straight from the mapping.
class NpyFile final : public ArrayFile {
 public:
  explicit NpyFile(const std::string& path);
  std::string format() const override { return "npy"; }
  std::vector<ArrayInfo> arrays() const override;
  void read_rows(const std::string& name, int64_t first, int64_t count, float* out) const override;
  // A complex or 0-d array is listed here instead of in arrays().
  std::vector<SkippedVariable> skipped() const;

  // Whether the elements lie in C order (then every run of consecutive C-order elements is one
  // run of bytes in the file, which read_span reads without touching anything else).
  bool c_order() const { return !header_.fortran_order || header_.shape.size() <= 1; }
  // Elements [first, first + count) of the C-order flat array as float32: the frames a
  // streamed batch needs, straight from the mapping. One error unless c_order() and in range.
  void read_span(int64_t first, int64_t count, float* out) const;
  // Asks the kernel to start reading those elements' pages now (madvise WILLNEED), so a batch's
  // spans are fetched in parallel before read_span copies them; a hint, no error.
  void will_need(int64_t first, int64_t count) const;
  // After read_span: drops those elements' pages from the mapping (MappedFile::drop).
  void release_span(int64_t first, int64_t count) const;
  void release_rows(const std::string& name, int64_t first, int64_t count) const override;
  void forget_rows(const std::string& name, int64_t first, int64_t count) const override;

 private:
  NpyHeader header_;
  MappedFile map_;
};

}  // namespace sdkd::data
