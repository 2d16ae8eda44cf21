#include "sdkd/datasets/axis_order.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "sdkd/error.hpp"

namespace sdkd::data {
namespace {

constexpr char kAxes[] = "NTCHW";  // the order of the result
constexpr int64_t kChunkValues = int64_t(1) << 23;

// Why `layout` cannot name the axes of `shape`, or "" when it can.
std::string layout_problem(const std::vector<int64_t>& shape, const std::string& layout) {
  for (char c : layout)
    if (!std::strchr(kAxes, c) || c == '\0')
      return str_cat("layout ", layout, ": '", c, "' is not an axis letter (N, T, C, H, W)");
  for (char c : std::string(kAxes))
    if (std::count(layout.begin(), layout.end(), c) > 1) return str_cat("layout ", layout, " names ", c, " twice");
  for (char c : std::string("THW"))
    if (layout.find(c) == std::string::npos)
      return str_cat("layout ", layout, " has no ", c, " axis (T, H and W are required; N and C default to 1)");
  if (layout.size() != shape.size())
    return str_cat("layout ", layout, " names ", layout.size(), " axes, the array has ", shape.size());
  return "";
}

// Size of each result axis (N, T, C, H, W) under a valid layout; a missing axis is 1.
std::array<int64_t, 5> result_dims(const std::vector<int64_t>& shape, const std::string& layout) {
  std::array<int64_t, 5> dims{1, 1, 1, 1, 1};
  for (size_t a = 0; a < layout.size(); ++a) dims[size_t(std::strchr(kAxes, layout[a]) - kAxes)] = shape[a];
  return dims;
}

bool square_frames(const std::vector<int64_t>& shape, const std::string& layout) {
  const auto d = result_dims(shape, layout);
  return d[3] == d[4];
}

std::string index_text(const std::vector<int64_t>& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t a = shape.size(); a-- > 0;) {
    idx[a] = flat % shape[a];
    flat /= shape[a];
  }
  std::string s = "[";
  for (size_t a = 0; a < idx.size(); ++a) s += (a ? ", " : "") + std::to_string(idx[a]);
  return s + "]";
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string default_layout(const std::string& format, size_t ndim) {
  if (format == "npy" || format == "HDF5") return ndim == 4 ? "NTHW" : ndim == 5 ? "NTCHW" : "";
  if (format.rfind("MAT", 0) == 0) return ndim == 4 ? "NHWT" : ndim == 3 ? "HWT" : "";
  return "";
}

std::string guess_layout(const std::string& format, const std::vector<int64_t>& shape) {
  std::vector<std::string> candidates = {default_layout(format, shape.size())};
  const std::vector<std::string> usual = shape.size() == 3   ? std::vector<std::string>{"THW", "HWT"}
                                         : shape.size() == 4 ? std::vector<std::string>{"NTHW", "NHWT"}
                                         : shape.size() == 5 ? std::vector<std::string>{"NTCHW", "NTHWC", "NHWCT"}
                                                             : std::vector<std::string>{};
  candidates.insert(candidates.end(), usual.begin(), usual.end());
  for (const auto& c : candidates)
    if (!c.empty() && square_frames(shape, c)) return c;
  return candidates.front().empty() && !usual.empty() ? usual.front() : candidates.front();
}

std::string describe_layout(const std::vector<int64_t>& shape, const std::string& layout) {
  const std::string problem = layout_problem(shape, layout);
  if (!problem.empty()) return problem;
  const auto d = result_dims(shape, layout);
  return str_cat("N = ", d[0], ", T = ", d[1], " frames", layout.find('C') != std::string::npos ? str_cat(" x C = ", d[2]) : "",
                 " of ", d[3], " x ", d[4]);
}

std::string array_label(const ArrayInfo& a) { return a.name.empty() ? "the array" : a.name; }

std::string resolve_layout(const ArrayFile& file, const ArrayInfo& a, const std::string& requested) {
  const std::string what = str_cat(file.path(), ": ", array_label(a), " has shape ", shape_text(a.shape));
  const std::string guess = guess_layout(file.format(), a.shape);
  const std::string try_guess = guess.empty() ? "" : str_cat("; for this shape try --layout ", guess, " (",
                                                             describe_layout(a.shape, guess), ")");
  std::string layout = requested;
  for (char& c : layout) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (layout.empty()) {
    layout = default_layout(file.format(), a.shape.size());
    SDKD_CHECK(!layout.empty(), what, ": a ", a.shape.size(), "-d ", file.format(),
               " array has no default layout; pass --layout with one letter per axis (N, T, C, H, W; T, H and W required)",
               try_guess);
    SDKD_CHECK(square_frames(a.shape, layout) || !square_frames(a.shape, guess), what, ": the default layout ", layout,
               " of a ", a.shape.size(), "-d ", file.format(), " array would mean ", describe_layout(a.shape, layout),
               ", but ", guess, " would mean ", describe_layout(a.shape, guess), ": pass --layout ", guess,
               guess == "NHWT" ? " (the FNO files' order)" : "", ", or --layout ", layout,
               " if the frames really are not square");
  }
  const std::string problem = layout_problem(a.shape, layout);
  SDKD_CHECK(problem.empty(), what, ": ", problem, try_guess);
  SDKD_CHECK(a.numel() > 0, what, ": no values to read");
  return layout;
}

AxisOrder axis_order(const std::vector<int64_t>& shape, const std::string& layout) {
  AxisOrder o;
  o.layout = layout;
  o.dims = result_dims(shape, layout);
  const auto& d = o.dims;
  // Result strides of the stored axes; decreasing exactly when the stored order is N, T, C, H, W.
  const std::array<int64_t, 5> rstride{d[1] * d[2] * d[3] * d[4], d[2] * d[3] * d[4], d[3] * d[4], d[4], 1};
  o.dst_stride.resize(layout.size());
  for (size_t ax = 0; ax < layout.size(); ++ax) {
    o.dst_stride[ax] = rstride[size_t(std::strchr(kAxes, layout[ax]) - kAxes)];
    if (ax > 0 && o.dst_stride[ax] > o.dst_stride[ax - 1]) o.identity = false;
  }
  o.row = 1;
  for (size_t ax = 1; ax < shape.size(); ++ax) o.row *= shape[ax];
  return o;
}

void non_finite_error(const std::string& path, const ArrayInfo& a, int64_t flat, float v) {
  throw Error(str_cat(path, ": ", array_label(a), " ", shape_text(a.shape), " holds ",
                      std::isnan(v) ? "NaN" : v < 0 ? "-Inf" : "Inf", " at index ", index_text(a.shape, flat),
                      "; sdkd trains on finite values only (drop or repair that trajectory)"));
}

void check_finite(const float* values, int64_t n, int64_t flat0, const std::string& path, const ArrayInfo& a) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i])) non_finite_error(path, a, flat0 + i, values[i]);
}

void scatter_rows(const float* src, int64_t first, int64_t count, const ArrayInfo& a, const AxisOrder& order,
                  float* dst, const std::string& path) {
  const size_t k = a.shape.size();
  const int64_t row = order.row;
  const auto& stride = order.dst_stride;
  std::vector<int64_t> idx(k, 0);
  for (int64_t r = 0; r < count; ++r) {
    std::fill(idx.begin(), idx.end(), 0);
    int64_t off = r * stride[0];
    for (int64_t e = 0; e < row; ++e) {
      const float v = src[r * row + e];
      if (!std::isfinite(v)) non_finite_error(path, a, (first + r) * row + e, v);
      dst[off] = v;
      for (size_t ax = k - 1; ax >= 1; --ax) {  // odometer over axes 1..k-1, last fastest
        off += stride[ax];
        if (++idx[ax] < a.shape[ax]) break;
        off -= stride[ax] * a.shape[ax];
        idx[ax] = 0;
      }
    }
  }
}

int64_t rows_per_chunk(const ArrayInfo& a) {
  const int64_t row = a.numel() / a.shape[0];
  return std::max<int64_t>(1, kChunkValues / std::max<int64_t>(row, 1));
}

void scan_finite(const ArrayFile& file, const ArrayInfo& a) {
  if (a.shape.empty() || a.numel() == 0) return;
  const int64_t row = a.numel() / a.shape[0], chunk = rows_per_chunk(a);
  std::vector<float> buf(size_t(std::min(chunk, a.shape[0]) * row));
  for (int64_t first = 0; first < a.shape[0]; first += chunk) {
    const int64_t count = std::min(chunk, a.shape[0] - first);
    file.read_rows(a.name, first, count, buf.data());
    check_finite(buf.data(), count * row, first * row, file.path(), a);
    file.forget_rows(a.name, first, count);  // a file larger than memory must not fill the cache
  }
}

}  // namespace sdkd::data
