#include "report/figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace sdkd::report {
namespace {

// A 5x7 font for labels: one entry of 7 row patterns per character in kGlyphChars.
constexpr char kGlyphChars[] = " #%'()*+,-./0123456789:<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_|";
constexpr uint8_t kGlyphRows[][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ' '
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a},  // '#'
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},  // '%'
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00},  // "'"
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},  // '('
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},  // ')'
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00},  // '*'
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00},  // '+'
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08},  // ','
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00},  // '-'
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c},  // '.'
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},  // '/'
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},  // '0'
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},  // '1'
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},  // '2'
    {0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e},  // '3'
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},  // '4'
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},  // '5'
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},  // '6'
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},  // '7'
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},  // '8'
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},  // '9'
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00},  // ':'
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02},  // '<'
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00},  // '='
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08},  // '>'
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},  // '?'
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},  // 'A'
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e},  // 'B'
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e},  // 'C'
    {0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e},  // 'D'
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f},  // 'E'
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10},  // 'F'
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f},  // 'G'
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},  // 'H'
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e},  // 'I'
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c},  // 'J'
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},  // 'K'
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f},  // 'L'
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11},  // 'M'
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},  // 'N'
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},  // 'O'
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10},  // 'P'
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d},  // 'Q'
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11},  // 'R'
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e},  // 'S'
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // 'T'
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},  // 'U'
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04},  // 'V'
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a},  // 'W'
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11},  // 'X'
    {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04},  // 'Y'
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f},  // 'Z'
    {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e},  // '['
    {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e},  // ']'
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f},  // '_'
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // '|'
};

uint8_t mix(uint8_t from, uint8_t to, float t) {
  return static_cast<uint8_t>(std::lround(from + (static_cast<float>(to) - from) * t));
}

void put(Image& im, int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= im.width || y >= im.height) return;
  uint8_t* p = &im.rgb[(static_cast<size_t>(y) * im.width + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * 6 - 1) * scale;
}

float row_max_abs(const std::vector<const float*>& row, int64_t n) {
  float m = 0.f;
  for (const float* field : row)
    if (field)
      for (int64_t i = 0; i < n; ++i)
        if (std::isfinite(field[i])) m = std::max(m, std::fabs(field[i]));
  return m;
}

}  // namespace

Rgb diverging_color(float value, float vmax) {
  if (std::isnan(value)) return kNanColor;
  float t = vmax > 0.f ? value / vmax : 0.f;
  if (std::isnan(t)) t = 0.f;  // inf / inf
  t = std::clamp(t, -1.f, 1.f);
  const Rgb& end = t < 0.f ? kColdEnd : kHotEnd;
  const float a = std::fabs(t);
  return {mix(kMidColor.r, end.r, a), mix(kMidColor.g, end.g, a), mix(kMidColor.b, end.b, a)};
}

Rgb Image::at(int x, int y) const {
  SDKD_CHECK(x >= 0 && y >= 0 && x < width && y < height, "Image::at(", x, ", ", y,
             ") outside ", width, "x", height);
  const uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  return {p[0], p[1], p[2]};
}

const uint8_t* glyph_rows(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  const char* hit = c ? std::strchr(kGlyphChars, c) : nullptr;
  if (!hit) hit = std::strchr(kGlyphChars, '?');
  return kGlyphRows[hit - kGlyphChars];
}

void draw_text(Image& image, int x, int y, const std::string& text, int scale, Rgb color) {
  for (size_t k = 0; k < text.size(); ++k) {
    const uint8_t* rows = glyph_rows(text[k]);
    const int x0 = x + static_cast<int>(k) * 6 * scale;
    for (int r = 0; r < 7; ++r)
      for (int c = 0; c < 5; ++c)
        if (rows[r] & (0x10 >> c))
          for (int dy = 0; dy < scale; ++dy)
            for (int dx = 0; dx < scale; ++dx) put(image, x0 + c * scale + dx, y + r * scale + dy, color);
  }
}

Image render_panels(const std::vector<std::vector<const float*>>& rows, int H, int W,
                    const PanelStyle& style) {
  SDKD_CHECK(H > 0 && W > 0, "render_panels: field size must be positive, got ", H, "x", W);
  SDKD_CHECK(style.scale >= 1 && style.gap >= 0 && style.font_scale >= 1,
             "render_panels: expected scale >= 1, gap >= 0, font_scale >= 1");
  const int s = style.scale, g = style.gap, f = style.font_scale;
  size_t cols = 0;
  for (const auto& row : rows) cols = std::max(cols, row.size());
  int label_w = 0;
  for (const auto& t : style.row_titles) label_w = std::max(label_w, text_width(t, f));
  if (label_w > 0) label_w += g;
  bool any_col_title = false;
  for (const auto& t : style.col_titles) any_col_title = any_col_title || !t.empty();
  const int label_h = any_col_title ? 7 * f + g : 0;
  const int64_t pw = static_cast<int64_t>(W) * s, ph = static_cast<int64_t>(H) * s;
  const int64_t width = label_w + g + static_cast<int64_t>(cols) * (pw + g);
  const int64_t height = label_h + g + static_cast<int64_t>(rows.size()) * (ph + g);
  SDKD_CHECK(width <= 16384 && height <= 16384, "render_panels: image of ", width, "x", height,
             " pixels is too large; use a smaller scale or fewer panels");

  Image im;
  im.width = static_cast<int>(width);
  im.height = static_cast<int>(height);
  im.rgb.resize(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < im.rgb.size(); i += 3) {
    im.rgb[i] = kBackground.r;
    im.rgb[i + 1] = kBackground.g;
    im.rgb[i + 2] = kBackground.b;
  }

  const int64_t n = static_cast<int64_t>(H) * W;
  for (size_t r = 0; r < rows.size(); ++r) {
    float vmax = r < style.row_vmax.size() ? style.row_vmax[r] : 0.f;
    if (!(vmax > 0.f)) vmax = row_max_abs(rows[r], n);
    const int y0 = label_h + g + static_cast<int>(r * (ph + g));
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const float* field = rows[r][c];
      if (!field) continue;
      const int x0 = label_w + g + static_cast<int>(c * (pw + g));
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          const Rgb color = diverging_color(field[static_cast<int64_t>(i) * W + j], vmax);
          for (int dy = 0; dy < s; ++dy)
            for (int dx = 0; dx < s; ++dx) put(im, x0 + j * s + dx, y0 + i * s + dy, color);
        }
    }
    if (r < style.row_titles.size()) {
      const int ty = y0 + static_cast<int>(ph - 7 * f) / 2;
      draw_text(im, label_w - g - text_width(style.row_titles[r], f), std::max(ty, y0), style.row_titles[r],
                f, kTextColor);
    }
  }
  for (size_t c = 0; c < style.col_titles.size() && c < cols; ++c) {
    const int x0 = label_w + g + static_cast<int>(c * (pw + g));
    const int tx = x0 + std::max(0, static_cast<int>(pw) - text_width(style.col_titles[c], f)) / 2;
    draw_text(im, tx, g / 2, style.col_titles[c], f, kTextColor);
  }
  return im;
}

void write_png_panels(const std::string& path, const std::vector<std::vector<const float*>>& rows,
                      int H, int W, const PanelStyle& style) {
  bool any_panel = false;
  for (const auto& row : rows) any_panel = any_panel || !row.empty();
  SDKD_CHECK(any_panel, path, ": nothing to draw (no panels)");
  const Image im = render_panels(rows, H, W, style);
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  const int ok = stbi_write_png_to_func(append, &png, im.width, im.height, 3, im.rgb.data(), im.width * 3);
  SDKD_CHECK(ok && !png.empty(), path, ": PNG encoding failed");
  write_text_atomic(path, png);
}

namespace {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 1, 2 or 5 times a power of ten, close to range / 5: ticks people can read.
double nice_step(double range) {
  const double raw = range / 5.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

struct Axis {
  double lo = 0, hi = 1;      // in plot units (log10 of the value on a log axis)
  std::vector<double> ticks;  // plot units
  bool log = false;
  std::string label(double t) const {
    if (!log) return fmt("%.4g", std::fabs(t) < 1e-12 * (hi - lo) ? 0.0 : t);
    const int k = static_cast<int>(std::lround(t));
    return (k >= -3 && k <= 4) ? fmt("%g", std::pow(10.0, k)) : "1e" + std::to_string(k);
  }
};

Axis make_axis(double lo, double hi, bool log) {
  Axis a;
  a.log = log;
  if (!(lo <= hi)) lo = 0, hi = 1;  // no finite data
  if (log) {
    a.lo = std::floor(lo);
    a.hi = std::ceil(hi);
    if (a.hi <= a.lo) a.hi = a.lo + 1;
    const int step = std::max(1, static_cast<int>((a.hi - a.lo) / 8) + 1);
    for (double t = a.lo; t <= a.hi + 1e-9; t += step) a.ticks.push_back(t);
    return a;
  }
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(lo))) {
    const double pad = std::max(0.5, std::fabs(lo) * 0.1);
    lo -= pad, hi += pad;
  }
  const double step = nice_step(hi - lo);
  a.lo = std::floor(lo / step) * step;
  a.hi = std::ceil(hi / step) * step;
  for (int i = 0; a.lo + i * step <= a.hi + step * 1e-6; ++i) a.ticks.push_back(a.lo + i * step);
  return a;
}

bool usable(double x, double y, bool log_y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0); }

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

void write_svg_lines(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<LineSeries>& series, bool log_y) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : series) {
    SDKD_CHECK(s.xs.size() == s.ys.size(), path, ": series '", s.name, "' has ", s.xs.size(),
               " x values but ", s.ys.size(), " y values");
    for (size_t i = 0; i < s.xs.size(); ++i) {
      if (!usable(s.xs[i], s.ys[i], log_y)) continue;
      const double y = log_y ? std::log10(s.ys[i]) : s.ys[i];
      xmin = std::min(xmin, s.xs[i]), xmax = std::max(xmax, s.xs[i]);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  }
  const Axis ax = make_axis(xmin, xmax, false), ay = make_axis(ymin, ymax, log_y);

  const double width = 720, height = 440, left = 80, right = 170, top = 40, bottom = 60;
  const double pw = width - left - right, ph = height - top - bottom;
  auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * pw; };
  auto py = [&](double y) { return top + ph - (y - ay.lo) / (ay.hi - ay.lo) * ph; };

  std::string o;
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", width) + "\" height=\"" +
       fmt("%.0f", height) + "\" viewBox=\"0 0 " + fmt("%.0f", width) + " " + fmt("%.0f", height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + fmt("%.1f", left + pw / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" +
       xml_escape(title) + "</text>\n";
  // Grid and tick labels.
  for (double t : ax.ticks) {
    const std::string x = fmt("%.2f", px(t));
    o += "<line x1=\"" + x + "\" y1=\"" + fmt("%.2f", top) + "\" x2=\"" + x + "\" y2=\"" + fmt("%.2f", top + ph) +
         "\" stroke=\"#e0e0e0\"/>\n";
    o += "<text class=\"xtick\" x=\"" + x + "\" y=\"" + fmt("%.2f", top + ph + 16) + "\" text-anchor=\"middle\">" +
         xml_escape(ax.label(t)) + "</text>\n";
  }
  for (double t : ay.ticks) {
    const std::string y = fmt("%.2f", py(t));
    o += "<line x1=\"" + fmt("%.2f", left) + "\" y1=\"" + y + "\" x2=\"" + fmt("%.2f", left + pw) + "\" y2=\"" + y +
         "\" stroke=\"#e0e0e0\"/>\n";
    o += "<text class=\"ytick\" x=\"" + fmt("%.2f", left - 6) + "\" y=\"" + fmt("%.2f", py(t) + 4) +
         "\" text-anchor=\"end\">" + xml_escape(ay.label(t)) + "</text>\n";
  }
  o += "<rect x=\"" + fmt("%.2f", left) + "\" y=\"" + fmt("%.2f", top) + "\" width=\"" + fmt("%.2f", pw) +
       "\" height=\"" + fmt("%.2f", ph) + "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + fmt("%.1f", left + pw / 2) + "\" y=\"" + fmt("%.1f", height - 16) +
       "\" text-anchor=\"middle\">" + xml_escape(x_label) + "</text>\n";
  o += "<text x=\"18\" y=\"" + fmt("%.1f", top + ph / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " +
       fmt("%.1f", top + ph / 2) + ")\">" + xml_escape(y_label) + (log_y ? " (log)" : "") + "</text>\n";

  // One path per series; unusable points start a new sub-path instead of being bridged.
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kPalette[k % (sizeof kPalette / sizeof kPalette[0])];
    std::string d, dots;
    bool pen_down = false;
    for (size_t i = 0; i < s.xs.size(); ++i) {
      if (!usable(s.xs[i], s.ys[i], log_y)) {
        pen_down = false;
        continue;
      }
      const std::string x = fmt("%.2f", px(s.xs[i]));
      const std::string y = fmt("%.2f", py(log_y ? std::log10(s.ys[i]) : s.ys[i]));
      if (!d.empty()) d += ' ';
      d += pen_down ? 'L' : 'M';
      d += x + " " + y;
      pen_down = true;
      if (s.xs.size() <= 40) {  // markers only where points are few enough to tell apart
        dots += "<circle cx=\"";
        dots += x + "\" cy=\"" + y + "\" r=\"2.5\" fill=\"" + color + "\"/>";
      }
    }
    o += "<g class=\"series\">\n";
    if (!d.empty())
      o += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.8\"/>" + dots + "\n";
    // Legend entry.
    const double ly = top + 10 + 18 * static_cast<double>(k);
    o += "<line x1=\"" + fmt("%.2f", left + pw + 12) + "\" y1=\"" + fmt("%.2f", ly) + "\" x2=\"" +
         fmt("%.2f", left + pw + 36) + "\" y2=\"" + fmt("%.2f", ly) + "\" stroke=\"" + color +
         "\" stroke-width=\"2\"/>\n";
    o += "<text x=\"" + fmt("%.2f", left + pw + 42) + "\" y=\"" + fmt("%.2f", ly + 4) + "\">" + xml_escape(s.name) +
         "</text>\n";
    o += "</g>\n";
  }
  o += "</svg>\n";
  write_text_atomic(path, o);
}

}  // namespace sdkd::report
