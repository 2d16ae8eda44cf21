#pragma once
// Numeric arrays in the files users have: NumPy .npy, MATLAB .mat (v5, and v7.3 = HDF5 with a
// 512-byte user block) and plain HDF5. One interface for every format, so the loaders above
// (datasets/open_dataset.hpp) never look at bytes, and a format is added in one file.
//
// Conventions every reader keeps:
// - An array's shape is the one the tool that wrote it shows: NumPy's for .npy and HDF5
//   (C order, first axis slowest), MATLAB's for .mat in both versions (so the FNO file's `u`
//   is (N, 64, 64, T) whether it is v5 or v7.3, although v7.3 stores it transposed).
// - Elements come out as float32 in C order over that shape (last axis fastest), converted
//   from any numeric class or dtype of the file (integers, float16/32/64, either byte order).
// - Every error is an sdkd::Error naming the file, the array and what was expected; no input
//   makes a reader crash, hang or allocate more than the array it reads (sizes are checked
//   against the file size and for overflow before anything is allocated).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sdkd::data {

struct ArrayInfo {
  std::string name;            // MAT variable, HDF5 dataset path ("vil/frames"), "" for .npy
  std::vector<int64_t> shape;  // as the writing tool shows it (see above)
  std::string dtype;           // as stored: "float32", "float64", "int16", "uint8", ...
  int64_t numel() const;
};

class ArrayFile {
 public:
  virtual ~ArrayFile() = default;
  const std::string& path() const { return path_; }
  virtual std::string format() const = 0;  // "npy", "MAT v5", "MAT v7.3", "HDF5"
  // Every numeric array in the file (for MAT: the numeric variables; cells, structs and
  // strings are listed by `sdkd data info` as unsupported, not returned here).
  virtual std::vector<ArrayInfo> arrays() const = 0;
  // Entries [first, first + count) along axis 0 of array `name`, as float32 in C order:
  // count * (numel / shape[0]) values into `out`. Readers that can (npy, HDF5) read only those
  // bytes; a compressed MAT v5 variable is decompressed once and kept.
  virtual void read_rows(const std::string& name, int64_t first, int64_t count, float* out) const = 0;
  // A hint after reading: those rows will not be needed again soon. A reader that maps the file
  // (npy) drops their pages from this process's mapping, so streaming a file larger than memory
  // does not leave it all mapped (the page cache keeps what the kernel chooses). No-op by default.
  virtual void release_rows(const std::string& name, int64_t first, int64_t count) const {
    (void)name, (void)first, (void)count;
  }
  // Stronger: those rows will not be read for a long time (a whole-file scan has passed them).
  // The npy reader also drops them from the page cache, so opening a file larger than memory
  // does not push everything else out of it. No-op by default.
  virtual void forget_rows(const std::string& name, int64_t first, int64_t count) const {
    (void)name, (void)first, (void)count;
  }

 protected:
  explicit ArrayFile(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// Opens `path` by its magic bytes (not its extension) and reads its directory of arrays.
// Throws sdkd::Error naming the file for an unknown or malformed format.
std::unique_ptr<ArrayFile> open_array_file(const std::string& path);

}  // namespace sdkd::data
