#pragma once
// MATLAB MAT-files of level 5 ("MATLAB 5.0 MAT-file": what `save -v6` and `save -v7` write,
// and scipy.io.savemat), our own parser: the 128-byte header (either byte order, 'IM' or
// 'MI'), data elements (8-byte tags and the 4-byte small-element form), miMATRIX variables
// and miCOMPRESSED (zlib) ones. Numeric variables of every class (double, single, int8..uint64;
// logical as 0/1) stored as any numeric type (MATLAB stores a double array as uint8 when its
// values fit) come out as float32 in C order over MATLAB's shape.
//
// Not read, and listed by skipped(): cell arrays, structs, objects, char arrays, sparse
// matrices, function handles and complex numbers (we refuse them rather than drop the
// imaginary part silently; take real(u) in MATLAB first).
//
// Uncompressed variables are read from the mapped file; a compressed one is inflated on its
// first read_rows and kept. Sizes are checked against the element lengths, the file size and
// for overflow before anything is allocated; zlib output is bounded by the declared size, and
// a declared size beyond what zlib can expand the compressed bytes to (1032:1) is refused.
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sdkd/datasets/array_file.hpp"
#include "sdkd/datasets/npy_file.hpp"

namespace sdkd::data {

class Mat5File final : public ArrayFile {
 public:
  explicit Mat5File(const std::string& path);
  std::string format() const override { return "MAT v5"; }
  std::vector<ArrayInfo> arrays() const override;
  void read_rows(const std::string& name, int64_t first, int64_t count, float* out) const override;
  // The variables arrays() leaves out, with their MATLAB class ("cell array", "struct", ...).
  const std::vector<SkippedVariable>& skipped() const { return skipped_; }

 private:
  // Where a numeric variable's real part lies.
  struct Variable {
    ArrayInfo info;
    std::string stored;             // NumPy code of the stored element type ("u1" for a double stored as miUINT8)
    int64_t data_offset = 0;        // uncompressed: file offset of the real part's bytes
    int64_t data_bytes = 0;         // numel * item size of `stored`
    bool compressed = false;        // then the real part lies at data_offset inside the inflated element
    int64_t zlib_offset = 0, zlib_bytes = 0;  // the element's zlib stream in the file
  };

  const Variable& find(const std::string& name) const;
  const uint8_t* real_part(const Variable& v) const;

  MappedFile map_;
  bool big_endian_ = false;
  std::vector<Variable> vars_;
  std::vector<SkippedVariable> skipped_;
  mutable std::mutex mutex_;                             // guards inflated_
  mutable std::vector<std::vector<uint8_t>> inflated_;   // per variable, filled on first read
};

}  // namespace sdkd::data
