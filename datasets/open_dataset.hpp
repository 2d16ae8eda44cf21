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
#include <memory>
#include <string>
#include <vector>

#include "sdkd/datasets/array_file.hpp"
#include "sdkd/datasets/axis_order.hpp"
#include "sdkd/datasets/npy_file.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::data {

struct DatasetOptions {
  std::string var;     // the array to read; "" = the only numeric array, else `u`
  std::string layout;  // axis letters of the stored array; "" = the default above
  // How SequenceDataset reads the values (datasets/sequence_dataset.hpp): "ram" loads the whole
  // array, "stream" reads the frames each batch needs from the file, "auto" streams when the
  // float32 array would exceed half of MemAvailable. open_dataset itself always loads.
  std::string loader = "auto";
};

struct LoadedDataset {
  Tensor values;            // float32 (N, T, C, H, W), C order
  std::string description;  // how it was read: "u (1200, 64, 64, 20) read as NHWT: N = 1200, T = 20 frames of 64 x 64"
};

// Opens and converts. Every mismatch (no such array, a layout that does not fit the rank, an
// unlikely default) is one sdkd::Error naming the file, the array, its shape and the layout,
// with the layout that would fit; a NaN or Inf is one error naming its index.
LoadedDataset open_dataset(const std::string& path, const DatasetOptions& options = {});

// The checked plan open_dataset loads by: the opened file, the array, its layout (every error
// of open_dataset but a non-finite value comes from here), so the streamed loader opens a file
// exactly as the RAM loader does without reading its values.
struct DatasetPlan {
  std::unique_ptr<ArrayFile> file;
  ArrayInfo array;
  AxisOrder order;
  std::string description;  // as LoadedDataset::description
};
DatasetPlan plan_dataset(const std::string& path, const DatasetOptions& options = {});

// The values of a plan as float32 (N, T, C, H, W), read chunk by chunk, every value checked.
Tensor load_dataset(const DatasetPlan& plan);

// The array `var` of `file` ("" picks as open_dataset does); errors name the choices.
ArrayInfo pick_array(const ArrayFile& file, const std::string& var);

// shape_text, default_layout, guess_layout and describe_layout: datasets/axis_order.hpp.

// The variables a reader lists besides arrays() (MAT v5 cells, structs, ...; a complex .npy).
std::vector<SkippedVariable> skipped_variables(const ArrayFile& file);

// Statistics of one array, streamed through read_rows in chunks (never the whole array).
struct ArrayStats {
  int64_t count = 0, nan = 0, inf = 0;  // count: finite values
  double min = 0, max = 0, mean = 0, std = 0;  // over the finite values
};
ArrayStats array_stats(const ArrayFile& file, const ArrayInfo& array);

}  // namespace sdkd::data
