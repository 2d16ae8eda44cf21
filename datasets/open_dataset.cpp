#include "sdkd/datasets/open_dataset.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "sdkd/datasets/mat5_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::data {
namespace {

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

DatasetPlan plan_dataset(const std::string& path, const DatasetOptions& options) {
  DatasetPlan p;
  p.file = open_array_file(path);
  p.array = pick_array(*p.file, options.var);
  const std::string layout = resolve_layout(*p.file, p.array, options.layout);
  p.order = axis_order(p.array.shape, layout);
  p.description = str_cat(array_label(p.array), " ", shape_text(p.array.shape), " of ", p.file->format(), " read as ",
                          layout, ": ", describe_layout(p.array.shape, layout));
  return p;
}

Tensor load_dataset(const DatasetPlan& p) {
  const ArrayInfo& a = p.array;
  const auto& d = p.order.dims;
  Tensor t = Tensor::empty({d[0], d[1], d[2], d[3], d[4]});
  float* dst = t.data<float>();
  const int64_t row = p.order.row, chunk = rows_per_chunk(a);
  std::vector<float> buf(p.order.identity ? 0 : size_t(std::min(chunk, a.shape[0]) * row));
  for (int64_t first = 0; first < a.shape[0]; first += chunk) {
    const int64_t count = std::min(chunk, a.shape[0] - first);
    if (p.order.identity) {  // read straight into place (our own .npy files: the bytes as written)
      float* out = dst + first * row;
      p.file->read_rows(a.name, first, count, out);
      check_finite(out, count * row, first * row, p.file->path(), a);
    } else {
      p.file->read_rows(a.name, first, count, buf.data());
      scatter_rows(buf.data(), first, count, a, p.order, dst + first * p.order.dst_stride[0], p.file->path());
    }
  }
  return t;
}

LoadedDataset open_dataset(const std::string& path, const DatasetOptions& options) {
  const DatasetPlan plan = plan_dataset(path, options);
  return {load_dataset(plan), plan.description};
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
