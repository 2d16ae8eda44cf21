// libFuzzer target: the data readers behind open_array_file (npy, MAT v5, MAT v7.3 / HDF5;
// the format is picked by the magic bytes, so each target's seed corpus steers it to one
// format). Every listed array is read in full when small, else its first and last rows.
#include <vector>

#include "sdkd/datasets/array_file.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sdkd::fuzz::run_on_file(data, size, [](const std::string& path) {
    const auto file = sdkd::data::open_array_file(path);
    for (const sdkd::data::ArrayInfo& a : file->arrays()) {
      if (a.shape.empty() || a.shape[0] <= 0) continue;
      const int64_t row = a.numel() / a.shape[0];
      if (row > (int64_t(1) << 22)) continue;
      const int64_t rows = a.numel() <= (int64_t(1) << 22) ? a.shape[0] : 1;
      std::vector<float> out(size_t(rows * row));
      file->read_rows(a.name, 0, rows, out.data());
      file->read_rows(a.name, a.shape[0] - 1, 1, out.data());
    }
  });
}
