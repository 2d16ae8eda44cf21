#pragma once
// How a stored array's axes become forecasting frames (N, T, C, H, W): the layout letters, their
// defaults and checks, and the one conversion of stored rows into the result's order. Written
// once here so the RAM loader (open_dataset) and the streamed loader (frame_source) convert the
// same way and refuse the same inputs with the same words.
//
// Layout letters, one per stored axis, slowest first, in the shape the file's tool shows:
// N trajectories, T frames, C channels, H rows, W columns. T, H and W are required; a missing
// N or C means 1. Defaults and the square-frames rule: datasets/open_dataset.hpp.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sdkd/datasets/array_file.hpp"

namespace sdkd::data {

// A shape as NumPy prints it: "(1200, 64, 64, 20)", "(5,)".
std::string shape_text(const std::vector<int64_t>& shape);

// The format's default layout for this rank ("" when there is none), and the layout that
// reads this shape as square frames, the default first (for `sdkd data info` and hints).
std::string default_layout(const std::string& format, size_t ndim);
std::string guess_layout(const std::string& format, const std::vector<int64_t>& shape);

// "N = 1200, T = 20 frames of 64 x 64" (C when present), or why the layout does not fit.
std::string describe_layout(const std::vector<int64_t>& shape, const std::string& layout);

// The layout `requested` ("" = the format's default; letters in any case) checked against
// array `a` of `file`: one sdkd::Error naming the file, the array, its shape and the layout
// that would fit when it does not name the axes, or when an unlikely default would be used.
std::string resolve_layout(const ArrayFile& file, const ArrayInfo& a, const std::string& requested);

// Where each stored axis lands in the (N, T, C, H, W) result of a checked layout.
struct AxisOrder {
  std::string layout;
  std::array<int64_t, 5> dims{};   // N, T, C, H, W (a missing axis is 1)
  std::vector<int64_t> dst_stride;  // per stored axis: its step in result values
  int64_t row = 0;                  // values per stored row (one index of stored axis 0)
  // The stored C order already is the result's order (NTHW, NTCHW, THW, ...): any run of
  // frames of one trajectory is then one contiguous span of the stored array.
  bool identity = true;
};
AxisOrder axis_order(const std::vector<int64_t>& shape, const std::string& layout);

// "u", or "the array" for the unnamed array of a .npy file.
std::string array_label(const ArrayInfo& a);

// One error naming the file, the array, the value (NaN, Inf, -Inf) and its stored index.
[[noreturn]] void non_finite_error(const std::string& path, const ArrayInfo& a, int64_t flat, float v);

// Throws non_finite_error for the first NaN or Inf of values [0, n), whose stored flat index
// starts at `flat0`.
void check_finite(const float* values, int64_t n, int64_t flat0, const std::string& path, const ArrayInfo& a);

// Copies stored rows [first, first + count) (C order, as read_rows returns them) to the result
// order: row first + r starts at dst + r * dst_stride[0]. Checks every value on the way.
void scatter_rows(const float* src, int64_t first, int64_t count, const ArrayInfo& a, const AxisOrder& order,
                  float* dst, const std::string& path);

// Rows per read_rows call when an array is scanned chunk by chunk (about 2^23 values: 32 MB of
// float32, so the file's data never sits in memory twice).
int64_t rows_per_chunk(const ArrayInfo& a);

// Reads the whole array chunk by chunk and throws non_finite_error for its first NaN or Inf
// in stored order: the error the RAM loader gives, with memory bounded by one chunk. Each chunk
// read is forgotten behind it (ArrayFile::forget_rows): neither mapped nor left in the page cache.
void scan_finite(const ArrayFile& file, const ArrayInfo& a);

}  // namespace sdkd::data
