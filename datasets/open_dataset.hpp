#pragma once
// A user's data file as forecasting frames: open it (any format of datasets/array_file.hpp),
// pick the array, read its axes in the order `layout` names and return float32 (N, T, C, H, W).
//
// Layout letters, one per stored axis, slowest first, in the shape the file's tool shows:
// N trajectories, T frames, C channels, H rows, W columns. T, H and W are required; a missing
// N or C means 1 (HWT: one trajectory). Defaults by format and rank:
//   npy    4-d NTHW, 5-d NTCHW (what `sdkd generate ns` writes)
//   MAT    4-d NHWT (the FNO files' `u`, (N, 64, 64, T)), 3-d HWT  (v5 and v7.3 alike)
//   HDF5   4-d NTHW, 5-d NTCHW
// A default whose frames come out non-square while another usual order makes them square
// (an FNO-style array in an HDF5 file) is refused with the layout to pass; an explicit
// --layout is trusted.
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/array_file.hpp"
#include "datasets/npy_file.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

struct DatasetOptions {
  std::string var;     // the array to read; "" = the only numeric array, else `u`
  std::string layout;  // axis letters of the stored array; "" = the default above
};

struct LoadedDataset {
  Tensor values;            // float32 (N, T, C, H, W), C order
  std::string description;  // how it was read: "u (1200, 64, 64, 20) read as NHWT: N = 1200, T = 20 frames of 64 x 64"
};

// Opens and converts. Every mismatch (no such array, a layout that does not fit the rank, an
// unlikely default) is one sdkd::Error naming the file, the array, its shape and the layout,
// with the layout that would fit; a NaN or Inf is one error naming its index.
LoadedDataset open_dataset(const std::string& path, const DatasetOptions& options = {});

// The array `var` of `file` ("" picks as open_dataset does); errors name the choices.
ArrayInfo pick_array(const ArrayFile& file, const std::string& var);

// The format's default layout for this rank ("" when there is none), and the layout that
// reads this shape as square frames, the default first (for `sdkd data info` and hints).
std::string default_layout(const std::string& format, size_t ndim);
std::string guess_layout(const std::string& format, const std::vector<int64_t>& shape);
// A shape as NumPy prints it: "(1200, 64, 64, 20)", "(5,)".
std::string shape_text(const std::vector<int64_t>& shape);

// "N = 1200, T = 20 frames of 64 x 64" (C when present), or why the layout does not fit.
std::string describe_layout(const std::vector<int64_t>& shape, const std::string& layout);

// The variables a reader lists besides arrays() (MAT v5 cells, structs, ...; a complex .npy).
std::vector<SkippedVariable> skipped_variables(const ArrayFile& file);

// Statistics of one array, streamed through read_rows in chunks (never the whole array).
struct ArrayStats {
  int64_t count = 0, nan = 0, inf = 0;  // count: finite values
  double min = 0, max = 0, mean = 0, std = 0;  // over the finite values
};
ArrayStats array_stats(const ArrayFile& file, const ArrayInfo& array);

}  // namespace sdkd::data
