#pragma once
// Pictures for the report: grids of heat maps as PNG (truth / prediction / error per lead
// time) and line plots as SVG (error per lead time, energy spectra). No plotting library:
// a diverging colormap, a 5x7 bitmap font for short labels, and stb_image_write for PNG.
#include <cstdint>
#include <string>
#include <vector>

namespace sdkd::report {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// Diverging blue-white-red map: -vmax -> kColdEnd, 0 -> kMidColor, +vmax -> kHotEnd, linear in
// RGB between them, clamped outside [-vmax, vmax] (so +-inf take the end colors). NaN is
// kNanColor so that bad values stand out instead of looking like zero. vmax <= 0 maps every
// finite value to kMidColor.
inline constexpr Rgb kColdEnd{40, 80, 180};
inline constexpr Rgb kMidColor{255, 255, 255};
inline constexpr Rgb kHotEnd{190, 30, 40};
inline constexpr Rgb kNanColor{0, 200, 0};
Rgb diverging_color(float value, float vmax);

struct PanelStyle {
  int scale = 4;      // each field cell becomes scale x scale pixels
  int gap = 2;        // pixels between panels and around the grid
  int font_scale = 1; // glyphs are (5x7) * font_scale pixels
  std::vector<std::string> row_titles;  // left of each row ("truth", "pred", "error")
  std::vector<std::string> col_titles;  // above each column ("t+1", ...)
  // Symmetric colour range per row; a missing entry or a value <= 0 means "max |value| over
  // that row's finite values", so the panels of one row are directly comparable.
  std::vector<float> row_vmax;
};

// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Rgb at(int x, int y) const;
};

// Layout (all in pixels; g = gap, s = scale, f = font_scale, cols = longest row):
//   label_w = row titles ? (max title length * 6 - 1) * f + g : 0
//   label_h = col titles ? 7 * f + g : 0
//   width  = label_w + g + cols * (W * s + g)
//   height = label_h + g + rows * (H * s + g)
//   panel (r, c) has its top-left corner at (label_w + g + c * (W*s + g), label_h + g + r * (H*s + g)).
// Field element (i, j) = field[i * W + j] fills the s x s block at row i, column j of its panel.
// A null field pointer leaves its panel blank (background).
inline constexpr Rgb kBackground{225, 225, 225};
inline constexpr Rgb kTextColor{0, 0, 0};
Image render_panels(const std::vector<std::vector<const float*>>& rows, int H, int W,
                    const PanelStyle& style);

// render_panels encoded as PNG and written atomically.
void write_png_panels(const std::string& path, const std::vector<std::vector<const float*>>& rows,
                      int H, int W, const PanelStyle& style = {});

// Draws ASCII text in the 5x7 font with its top-left corner at (x, y), clipped to the image.
// Lower-case letters are drawn as capitals; characters without a glyph are drawn as '?'.
// Each character advances 6 * scale pixels.
void draw_text(Image& image, int x, int y, const std::string& text, int scale, Rgb color);

// The 7 row bit patterns of a character (bit 4 = leftmost pixel), after the substitutions above.
const uint8_t* glyph_rows(char c);

struct LineSeries {
  std::string name;
  std::vector<double> xs, ys;  // same length; non-finite points (or y <= 0 on a log axis) break the line
};

// A line plot with axes, ticks, labels and a legend, written atomically. With log_y the y axis
// is logarithmic with ticks at powers of ten.
void write_svg_lines(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<LineSeries>& series,
                     bool log_y = false);

}  // namespace sdkd::report
