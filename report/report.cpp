#include "report/report.hpp"

#include <cmath>
#include <cstdio>
#include <functional>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::report {

namespace {

const std::string kMissing = "\u2014";  // em dash

std::string printf_str(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// nan / inf / -inf, or empty for a finite value.
std::string non_finite(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return "";
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return non_finite(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A table cell: its text without '|' breaking the row and without line breaks.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

template <class T>
std::string opt(const std::optional<T>& v, const std::function<std::string(T)>& f) {
  return v ? f(*v) : kMissing;
}

}  // namespace

std::string format_error(double v) {
  if (!std::isfinite(v)) return non_finite(v);
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a < 1e-3 || a >= 1e4) return printf_str("%.3e", v);
  const int decimals = std::max(0, 3 - int(std::floor(std::log10(a))));
  return fixed(v, decimals);
}

std::string format_count(double v) {
  if (!std::isfinite(v)) return non_finite(v);
  const char* units[] = {"", "k", "M", "G", "T"};
  double a = std::fabs(v);
  int u = 0;
  while (u < 4 && a >= 999.5) a /= 1000, ++u;
  if (u == 0) return printf_str("%.0f", v);
  // Three significant digits; a value that rounded up into this unit (999.9k -> 0.9999M) is ~1.
  const int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return fixed(std::copysign(a, v), decimals) + units[u];
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double a = double(bytes);
  int u = 0;
  while (u < 4 && std::fabs(a) >= 1024) a /= 1024, ++u;
  return u == 0 ? std::to_string(bytes) + " B" : fixed(a, 1) + " " + units[u];
}

void write_report_md(const std::string& path, const ReportInput& in) {
  using D = std::function<std::string(double)>;
  using I = std::function<std::string(int64_t)>;
  const D err = format_error;
  const D ssim = [](double v) { return fixed(v, 4); };
  const D db = [](double v) { return fixed(v, 2); };
  const D count = format_count;
  const D secs = [](double v) { return fixed(v, 1); };
  const D ms = [](double v) { return fixed(v, 2); };
  const I integer = [](int64_t v) { return std::to_string(v); };
  const I params = [](int64_t v) { return format_count(double(v)); };
  const I bytes = format_bytes;

  std::string o = "# " + in.title + "\n\n";
  if (!in.headline.empty()) o += in.headline + "\n\n";
  if (!in.description.empty()) o += in.description + "\n\n";
  o += "| model | role | KD | seed | MSE | MAE | rel L2 | SSIM | PSNR (dB) | params | FLOPs/sample | train (s) "
       "| infer (ms) | peak mem |\n";
  o += "|:---|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const ReportRow& r : in.rows) {
    const std::vector<std::string> cells = {
        r.model.empty() ? kMissing : cell(r.model), r.role.empty() ? kMissing : cell(r.role),
        r.kd.empty() ? kMissing : cell(r.kd),       opt(r.seed, integer),
        opt(r.mse, err),                            opt(r.mae, err),
        opt(r.rel_l2, err),                         opt(r.ssim, ssim),
        opt(r.psnr, db),                            opt(r.params, params),
        opt(r.flops, count),                        opt(r.train_seconds, secs),
        opt(r.infer_ms, ms),                        opt(r.peak_mem_bytes, bytes)};
    o += "|";
    for (const std::string& c : cells) o += " " + c + " |";
    o += "\n";
  }
  o += "\nMSE and MAE are per-pixel means on raw vorticity (OpenSTL sums over pixels: H*W times larger); "
       "rel L2 is per sample, as in FNO.\n";
  if (!in.summary.empty()) {
    o += "\n## Summary\n\n";
    for (const std::string& line : in.summary) o += "- " + line + "\n";
  }
  if (!in.images.empty()) {
    o += "\n## Figures\n";
    for (const ReportImage& im : in.images) o += "\n![" + im.caption + "](" + im.path + ")\n\n" + im.caption + "\n";
  }
  if (!in.provenance.empty()) {
    o += "\n## Provenance\n\n| what | value |\n|:---|:---|\n";
    for (const auto& [what, value] : in.provenance) o += "| " + cell(what) + " | " + cell(value) + " |\n";
  }
  write_text_atomic(path, o);
}

}  // namespace sdkd::report
