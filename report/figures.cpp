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

namespace {

// "+2.31", "-0.0523": the ends of a colour bar, three significant digits.
std::string bar_value(float v, bool sign) {
  char buf[32];
  std::snprintf(buf, sizeof buf, sign ? "%+.3g" : "%.3g", double(v));
  return buf;
}

}  // namespace

PanelLayout panel_layout(const std::vector<std::vector<const float*>>& rows, int H, int W, const PanelStyle& style) {
  SDKD_CHECK(H > 0 && W > 0, "render_panels: field size must be positive, got ", H, "x", W);
  SDKD_CHECK(style.scale >= 1 && style.gap >= 0 && style.font_scale >= 1,
             "render_panels: expected scale >= 1, gap >= 0, font_scale >= 1");
  const int s = style.scale, g = style.gap, f = style.font_scale, line = 9 * f;
  size_t cols = 0;
  for (const auto& row : rows) cols = std::max(cols, row.size());
  bool any_color = false;
  for (const auto& c : style.row_colors) any_color = any_color || c.has_value();
  const int swatch = any_color ? 8 * f : 0;
  int label_w = 0;
  for (const auto& t : style.row_titles) label_w = std::max(label_w, swatch + text_width(t, f));
  label_w = std::max(label_w, swatch);
  if (label_w > 0) label_w += 2 * g;  // a margin on both sides of the titles
  bool any_col_title = false;
  for (const auto& t : style.col_titles) any_col_title = any_col_title || !t.empty();
  const int label_h = any_col_title ? 7 * f + g : 0;
  const int title_h = style.title_lines.empty() ? 0 : int(style.title_lines.size()) * line + g;
  const int64_t pw = int64_t(W) * s, ph = int64_t(H) * s;

  PanelLayout L;
  L.grid_x = label_w + g;
  L.grid_y = title_h + label_h + g;
  L.pitch_x = int(std::min<int64_t>(pw + g, 1 << 20));
  L.pitch_y = int(std::min<int64_t>(ph + g, 1 << 20));
  const int64_t grid_right = L.grid_x + int64_t(cols) * L.pitch_x;

  // Ranges: each row's own, then one per colour bar over its rows.
  const int64_t n = int64_t(H) * W;
  for (size_t r = 0; r < rows.size(); ++r) {
    const float given = r < style.row_vmax.size() ? style.row_vmax[r] : 0.f;
    L.row_vmax.push_back(given > 0.f ? given : row_max_abs(rows[r], n));
  }
  int bar_text_w = 0;
  for (const ColorBar& cb : style.colorbars) {
    SDKD_CHECK(cb.rows >= 1 && cb.first_row >= 0 && size_t(cb.first_row + cb.rows) <= rows.size(),
               "render_panels: colour bar over rows ", cb.first_row, "..", cb.first_row + cb.rows - 1, " of ",
               rows.size());
    float vmax = 0.f;
    for (int r = cb.first_row; r < cb.first_row + cb.rows; ++r) vmax = std::max(vmax, L.row_vmax[size_t(r)]);
    for (int r = cb.first_row; r < cb.first_row + cb.rows; ++r) L.row_vmax[size_t(r)] = vmax;
    PanelLayout::Bar bar;
    bar.x = int(grid_right + 2 * f);
    bar.w = 6 * f;
    bar.y = L.grid_y + cb.first_row * L.pitch_y;
    bar.h = cb.rows * L.pitch_y - g;
    bar.vmax = vmax;
    bar.label = cb.label;
    for (const std::string& t : {bar_value(vmax, true), bar_value(-vmax, true), cb.label})
      bar_text_w = std::max(bar_text_w, text_width(t, f));
    L.bars.push_back(bar);
  }
  int64_t width = grid_right + (L.bars.empty() ? 0 : 10 * f + bar_text_w + g);
  for (const auto& t : style.title_lines) width = std::max<int64_t>(width, text_width(t, f) + 2 * g);
  const int64_t height = L.grid_y + int64_t(rows.size()) * L.pitch_y;
  SDKD_CHECK(width <= 16384 && height <= 16384, "render_panels: image of ", width, "x", height,
             " pixels is too large; use a smaller scale or fewer panels");
  L.width = int(width);
  L.height = int(height);
  return L;
}

Image render_panels(const std::vector<std::vector<const float*>>& rows, int H, int W,
                    const PanelStyle& style) {
  const PanelLayout L = panel_layout(rows, H, W, style);
  const int s = style.scale, g = style.gap, f = style.font_scale;
  const int ph = H * s, pw = W * s;
  Image im;
  im.width = L.width;
  im.height = L.height;
  im.rgb.resize(size_t(L.width) * size_t(L.height) * 3);
  for (size_t i = 0; i < im.rgb.size(); i += 3) {
    im.rgb[i] = kBackground.r;
    im.rgb[i + 1] = kBackground.g;
    im.rgb[i + 2] = kBackground.b;
  }

  for (size_t k = 0; k < style.title_lines.size(); ++k)
    draw_text(im, g, g + int(k) * 9 * f, style.title_lines[k], f, kTextColor);
  const int label_w = L.grid_x - g;
  for (size_t r = 0; r < rows.size(); ++r) {
    const float vmax = L.row_vmax[r];
    const int y0 = L.grid_y + int(r) * L.pitch_y;
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const float* field = rows[r][c];
      if (!field) continue;
      const int x0 = L.grid_x + int(c) * L.pitch_x;
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          const Rgb color = diverging_color(field[static_cast<int64_t>(i) * W + j], vmax);
          for (int dy = 0; dy < s; ++dy)
            for (int dx = 0; dx < s; ++dx) put(im, x0 + j * s + dx, y0 + i * s + dy, color);
        }
    }
    // The title right-aligned against the grid, its colour square just before it.
    const std::string title = r < style.row_titles.size() ? style.row_titles[r] : "";
    const int ty = std::max(y0 + (ph - 7 * f) / 2, y0);
    const int tx = label_w - g - text_width(title, f);
    draw_text(im, tx, ty, title, f, kTextColor);
    if (r < style.row_colors.size() && style.row_colors[r]) {
      const int sx = tx - 8 * f;
      for (int dy = 0; dy < 7 * f; ++dy)
        for (int dx = 0; dx < 7 * f; ++dx) put(im, sx + dx, ty + dy, *style.row_colors[r]);
    }
  }
  size_t cols = 0;
  for (const auto& row : rows) cols = std::max(cols, row.size());
  const int col_title_y = L.grid_y - 2 * g - 7 * f + g / 2;  // inside the label_h strip above the grid
  for (size_t c = 0; c < style.col_titles.size() && c < cols; ++c) {
    const int x0 = L.grid_x + int(c) * L.pitch_x;
    const int tx = x0 + std::max(0, pw - text_width(style.col_titles[c], f)) / 2;
    draw_text(im, tx, col_title_y, style.col_titles[c], f, kTextColor);
  }
  for (const auto& bar : L.bars) {
    for (int y = 0; y < bar.h; ++y) {
      const float v = bar.vmax * (1.f - 2.f * (float(y) + 0.5f) / float(bar.h));
      const Rgb color = diverging_color(v, bar.vmax);
      for (int x = 0; x < bar.w; ++x) put(im, bar.x + x, bar.y + y, color);
    }
    for (int x = -1; x <= bar.w; ++x) put(im, bar.x + x, bar.y - 1, kTextColor), put(im, bar.x + x, bar.y + bar.h, kTextColor);
    for (int y = 0; y < bar.h; ++y) put(im, bar.x - 1, bar.y + y, kTextColor), put(im, bar.x + bar.w, bar.y + y, kTextColor);
    // Top-aligned +vmax, centred 0, bottom-aligned -vmax, the label half-way between the first two.
    const int tx = bar.x + bar.w + 2 * f, mid = bar.y + bar.h / 2 - 7 * f / 2;
    draw_text(im, tx, bar.y, bar_value(bar.vmax, true), f, kTextColor);
    draw_text(im, tx, mid, "0", f, kTextColor);
    draw_text(im, tx, bar.y + bar.h - 7 * f, bar_value(-bar.vmax, true), f, kTextColor);
    draw_text(im, tx, std::max(bar.y + 9 * f, (bar.y + mid) / 2), bar.label, f, kTextColor);
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

}  // namespace sdkd::report
