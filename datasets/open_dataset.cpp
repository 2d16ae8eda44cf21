#include "datasets/open_dataset.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "datasets/mat5_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::data {
namespace {

constexpr char kAxes[] = "NTCHW";  // the order of the result
// Read this many values per read_rows call: the file's data never sits in memory twice.
constexpr int64_t kChunkValues = int64_t(1) << 23;

std::string label(const ArrayInfo& a) { return a.name.empty() ? "the array" : a.name; }

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

[[noreturn]] void non_finite(const std::string& path, const ArrayInfo& a, int64_t flat, float v) {
  throw Error(str_cat(path, ": ", label(a), " ", shape_text(a.shape), " holds ", std::isnan(v) ? "NaN" : v < 0 ? "-Inf" : "Inf",
                      " at index ", index_text(a.shape, flat),
                      "; sdkd trains on finite values only (drop or repair that trajectory)"));
}

int64_t rows_per_chunk(const ArrayInfo& a) {
  const int64_t row = a.numel() / a.shape[0];
  return std::max<int64_t>(1, kChunkValues / std::max<int64_t>(row, 1));
}

// Copies one chunk (rows [first, first + count) of the stored array, C order) to the result,
// where stored axis a steps `dst_stride[a]` values; checks every value on the way.
void scatter(const float* src, int64_t first, int64_t count, const ArrayInfo& a, const std::vector<int64_t>& dst_stride,
             float* dst, const std::string& path) {
  const size_t k = a.shape.size();
  const int64_t row = a.numel() / a.shape[0];
  std::vector<int64_t> idx(k, 0);
  for (int64_t r = 0; r < count; ++r) {
    std::fill(idx.begin(), idx.end(), 0);
    int64_t off = (first + r) * dst_stride[0];
    for (int64_t e = 0; e < row; ++e) {
      const float v = src[r * row + e];
      if (!std::isfinite(v)) non_finite(path, a, (first + r) * row + e, v);
      dst[off] = v;
      for (size_t ax = k - 1; ax >= 1; --ax) {  // odometer over axes 1..k-1, last fastest
        off += dst_stride[ax];
        if (++idx[ax] < a.shape[ax]) break;
        off -= dst_stride[ax] * a.shape[ax];
        idx[ax] = 0;
      }
    }
  }
}

std::string candidates_text(const std::vector<ArrayInfo>& list) {
  std::string s;
  for (const auto& x : list) s += (s.empty() ? "" : ", ") + x.name + " " + shape_text(x.shape);
  return s;
}

std::string skipped_text(const std::vector<SkippedVariable>& list) {
  std::string s;
  for (const auto& x : list) s += (s.empty() ? "" : "; ") + (x.name.empty() ? "the array" : x.name) + ": " + x.what;
  return s;
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

std::vector<SkippedVariable> skipped_variables(const ArrayFile& file) {
  if (const auto* m = dynamic_cast<const Mat5File*>(&file)) return m->skipped();
  if (const auto* n = dynamic_cast<const NpyFile*>(&file)) return n->skipped();
  return {};  // the HDF5 reader names what it skips in its read_rows errors
}

ArrayInfo pick_array(const ArrayFile& file, const std::string& var) {
  const auto list = file.arrays();
  const auto skipped = skipped_variables(file);
  const std::string& path = file.path();
  if (!var.empty()) {
    SDKD_CHECK(file.format() != "npy", path, ": --var ", var,
               ": a .npy file holds one unnamed array; --var names a variable of a MAT or HDF5 file");
    for (const auto& a : list)
      if (a.name == var) return a;
    for (const auto& s : skipped)
      SDKD_CHECK(s.name != var, path, ": --var ", var, ": '", var, "' is a ", s.what,
                 ", not a numeric array (sdkd reads double, single, integer and logical arrays)");
    throw Error(str_cat(path, ": --var ", var, ": no numeric array '", var, "' in this ", file.format(),
                        " file (numeric arrays: ", list.empty() ? "none" : candidates_text(list), ")"));
  }
  if (list.size() == 1) return list.front();
  SDKD_CHECK(!list.empty(), path, ": no numeric array to read in this ", file.format(), " file",
             skipped.empty() ? "" : " (" + skipped_text(skipped) + ")");
  for (const auto& a : list)
    if (a.name == "u") return a;
  throw Error(str_cat(path, ": ", list.size(), " numeric arrays and none is named u: ", candidates_text(list),
                      "; choose one with --var NAME"));
}

LoadedDataset open_dataset(const std::string& path, const DatasetOptions& options) {
  const auto file = open_array_file(path);
  const ArrayInfo a = pick_array(*file, options.var);
  const std::string what = str_cat(path, ": ", label(a), " has shape ", shape_text(a.shape));
  const std::string guess = guess_layout(file->format(), a.shape);
  const std::string try_guess = guess.empty() ? "" : str_cat("; for this shape try --layout ", guess, " (",
                                                             describe_layout(a.shape, guess), ")");

  std::string layout = options.layout;
  for (char& c : layout) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (layout.empty()) {
    layout = default_layout(file->format(), a.shape.size());
    SDKD_CHECK(!layout.empty(), what, ": a ", a.shape.size(), "-d ", file->format(),
               " array has no default layout; pass --layout with one letter per axis (N, T, C, H, W; T, H and W required)",
               try_guess);
    SDKD_CHECK(square_frames(a.shape, layout) || !square_frames(a.shape, guess), what, ": the default layout ", layout,
               " of a ", a.shape.size(), "-d ", file->format(), " array would mean ", describe_layout(a.shape, layout),
               ", but ", guess, " would mean ", describe_layout(a.shape, guess), ": pass --layout ", guess,
               guess == "NHWT" ? " (the FNO files' order)" : "", ", or --layout ", layout,
               " if the frames really are not square");
  }
  const std::string problem = layout_problem(a.shape, layout);
  SDKD_CHECK(problem.empty(), what, ": ", problem, try_guess);
  SDKD_CHECK(a.numel() > 0, what, ": no values to read");

  const auto d = result_dims(a.shape, layout);
  Tensor t = Tensor::empty({d[0], d[1], d[2], d[3], d[4]});
  float* dst = t.data<float>();
  // Result strides of the stored axes; identity when the stored order is already N, T, C, H, W.
  const std::array<int64_t, 5> rstride{d[1] * d[2] * d[3] * d[4], d[2] * d[3] * d[4], d[3] * d[4], d[4], 1};
  std::vector<int64_t> dst_stride(layout.size());
  bool identity = true;
  for (size_t ax = 0; ax < layout.size(); ++ax) {
    const size_t r = size_t(std::strchr(kAxes, layout[ax]) - kAxes);
    dst_stride[ax] = rstride[r];
    if (ax > 0 && dst_stride[ax] > dst_stride[ax - 1]) identity = false;
  }
  const int64_t row = a.numel() / a.shape[0], chunk = rows_per_chunk(a);
  std::vector<float> buf(identity ? 0 : size_t(std::min(chunk, a.shape[0]) * row));
  for (int64_t first = 0; first < a.shape[0]; first += chunk) {
    const int64_t count = std::min(chunk, a.shape[0] - first);
    if (identity) {  // read straight into place (our own .npy files: the bytes as written)
      float* out = dst + first * row;
      file->read_rows(a.name, first, count, out);
      for (int64_t i = 0; i < count * row; ++i)
        if (!std::isfinite(out[i])) non_finite(path, a, first * row + i, out[i]);
    } else {
      file->read_rows(a.name, first, count, buf.data());
      scatter(buf.data(), first, count, a, dst_stride, dst, path);
    }
  }
  return {t, str_cat(label(a), " ", shape_text(a.shape), " of ", file->format(), " read as ", layout, ": ",
                     describe_layout(a.shape, layout))};
}

ArrayStats array_stats(const ArrayFile& file, const ArrayInfo& a) {
  ArrayStats s;
  if (a.shape.empty() || a.numel() == 0) return s;
  const int64_t row = a.numel() / a.shape[0], chunk = rows_per_chunk(a);
  std::vector<float> buf(static_cast<size_t>(std::min(chunk, a.shape[0]) * row));
  double m2 = 0;  // sum of squared deviations, merged chunk by chunk (Chan et al.)
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  for (int64_t first = 0; first < a.shape[0]; first += chunk) {
    const int64_t count = std::min(chunk, a.shape[0] - first);
    file.read_rows(a.name, first, count, buf.data());
    int64_t n = 0;
    double sum = 0;
    for (int64_t i = 0; i < count * row; ++i) {
      const float v = buf[size_t(i)];
      if (std::isnan(v)) ++s.nan;
      else if (std::isinf(v)) ++s.inf;
      else {
        ++n;
        sum += v;
        s.min = std::min(s.min, double(v));
        s.max = std::max(s.max, double(v));
      }
    }
    if (n == 0) continue;
    const double mean = sum / double(n);
    double cm2 = 0;
    for (int64_t i = 0; i < count * row; ++i)
      if (std::isfinite(buf[size_t(i)])) cm2 += (buf[size_t(i)] - mean) * (buf[size_t(i)] - mean);
    const double delta = mean - s.mean, total = double(s.count + n);
    s.mean += delta * double(n) / total;
    m2 += cm2 + delta * delta * double(s.count) * double(n) / total;
    s.count += n;
  }
  if (s.count == 0) s.min = s.max = 0;
  s.std = s.count ? std::sqrt(m2 / double(s.count)) : 0;
  return s;
}

}  // namespace sdkd::data
