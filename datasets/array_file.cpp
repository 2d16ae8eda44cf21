// open_array_file: the format from the first bytes, never from the extension (a .mat may be v5
// or HDF5; a renamed .npy is still a .npy).
#include "sdkd/datasets/array_file.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "sdkd/datasets/hdf5_file.hpp"
#include "sdkd/datasets/mat5_file.hpp"
#include "sdkd/datasets/npy_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::data {

int64_t ArrayInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    SDKD_CHECK(d >= 0, "array '", name, "': negative dimension ", d);
    if (d == 0) return 0;
    SDKD_CHECK(n <= std::numeric_limits<int64_t>::max() / d, "array '", name,
               "': its shape has more elements than 64 bits can count");
    n *= d;
  }
  return n;
}

namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr char kHdf5Magic[] = "\x89HDF\r\n\x1a\n";

bool starts_with(const std::string& bytes, size_t at, const char* text, size_t n) {
  return bytes.size() >= at + n && std::memcmp(bytes.data() + at, text, n) == 0;
}

// The HDF5 superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 spec
// §2.2). Only the first bytes of each candidate are read.
bool has_hdf5_signature(std::ifstream& in, int64_t file_size) {
  char sig[8];
  for (int64_t at = 0; at + 8 <= file_size; at = at == 0 ? 512 : at * 2) {
    in.clear();
    in.seekg(at);
    if (in.read(sig, 8) && std::memcmp(sig, kHdf5Magic, 8) == 0) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<ArrayFile> open_array_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SDKD_CHECK(fs::exists(path, ec), path, ": no such file");
  SDKD_CHECK(fs::is_regular_file(path, ec), path, ": not a regular file; expected a data file (.npy, .mat, .h5)");
  const int64_t size = int64_t(fs::file_size(path, ec));
  SDKD_CHECK(!ec, path, ": cannot get the file size: ", ec.message());
  std::ifstream in(path, std::ios::binary);
  SDKD_CHECK(in.is_open(), path, ": cannot open for reading (permissions?)");
  std::string head(128, '\0');
  in.read(head.data(), 128);
  head.resize(size_t(in.gcount()));

  if (starts_with(head, 0, kNpyMagic, 6)) return std::make_unique<NpyFile>(path);
  // MAT v7.3 writes a MAT header into the HDF5 user block; its text says which it is.
  if (starts_with(head, 0, "MATLAB 7.3 MAT-file", 19)) return open_hdf5_file(path, true);
  if (starts_with(head, 0, "MATLAB 5.0 MAT-file", 19)) return std::make_unique<Mat5File>(path);
  if (has_hdf5_signature(in, size)) return open_hdf5_file(path, false);
  throw Error(str_cat(path, ": unknown file format (", size,
                      " bytes); expected a NumPy .npy file (magic \\x93NUMPY), a MATLAB MAT-file of version 5/7 "
                      "(header \"MATLAB 5.0 MAT-file\") or 7.3 (\"MATLAB 7.3 MAT-file\"), or an HDF5 file "
                      "(signature \\x89HDF at byte 0, 512, 1024, ...). A MAT v4 file: save it again with "
                      "save(..., '-v7')"));
}

}  // namespace sdkd::data
