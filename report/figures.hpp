#pragma once
// Heat-map grids for the report as PNG (truth / predictions / errors per lead time, with
// titles and colour bars). No plotting library: a diverging colormap, a 5x7 bitmap font
// (scaled for readable labels), and stb_image_write for PNG. Line plots are svg_plot.hpp.
#include <cstdint>
#include <optional>
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

// Rows [first_row, first_row + rows) share one colour range, shown by a vertical bar to the
// right of the grid that spans those rows, with the range's ends and zero written beside it.
struct ColorBar {
  int first_row = 0, rows = 1;
  std::string label;  // beside the bar, e.g. "vorticity" or "error"
};

struct PanelStyle {
  int scale = 4;      // each field cell becomes scale x scale pixels
  int gap = 2;        // pixels between panels and around the grid
  int font_scale = 1; // glyphs are (5x7) * font_scale pixels
  std::vector<std::string> title_lines;  // above everything, left-aligned, one text line each
  std::vector<std::string> row_titles;   // left of each row ("truth", "pred", "error")
  // A square of this colour before the row title: the run's colour in every other plot.
  std::vector<std::optional<Rgb>> row_colors;
  std::vector<std::string> col_titles;   // above each column ("t+1", ...)
  // Symmetric colour range per row; a missing entry or a value <= 0 means "max |value| over
  // that row's finite values", so the panels of one row are directly comparable.
  std::vector<float> row_vmax;
  // Rows under one bar are drawn with one range: the largest of their rows' ranges above.
  std::vector<ColorBar> colorbars;
};

// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Rgb at(int x, int y) const;
};

// Layout (all in pixels; g = gap, s = scale, f = font_scale, cols = longest row, line = 9 f):
//   title_h = title lines ? lines * line + g : 0
//   swatch  = any row colour ? 8 f : 0           (a 7f x 7f square, then f of space)
//   label_w = row titles or colours ? g + max over rows (swatch + title length * 6 f - f) + g : 0
//   label_h = col titles ? 7 * f + g : 0
//   grid_x  = label_w + g,  grid_y = title_h + label_h + g,  pitch = (W*s + g, H*s + g)
//   panel (r, c) has its top-left corner at (grid_x + c * pitch_x, grid_y + r * pitch_y);
//   bar of rows [a, a + n): x = grid_x + cols * pitch_x + 2 f, width 6 f, y = grid_y + a * pitch_y,
//   height n * pitch_y - g, outlined one pixel outside; its pixel row y shows the value
//   vmax * (1 - 2 (y - bar_y + 0.5) / height) (top +vmax, bottom -vmax); "+vmax", "0", "-vmax"
//   and the label are written 2 f right of it
//   width  = max(grid_x + cols * pitch_x + (bars ? 10 f + widest bar text + g : 0), widest title + 2 g)
//   height = grid_y + rows * pitch_y
// (without titles, colours and bars: width = label_w + g + cols * pitch_x, height = label_h + g
// + rows * pitch_y). Field element (i, j) = field[i * W + j] fills the s x s block at row i,
// column j of its panel. A null field pointer leaves its panel blank (background).
struct PanelLayout {
  int width = 0, height = 0;
  int grid_x = 0, grid_y = 0, pitch_x = 0, pitch_y = 0;
  std::vector<float> row_vmax;  // the range each row is drawn with
  struct Bar {
    int x = 0, y = 0, w = 0, h = 0;
    float vmax = 0;
    std::string label;
  };
  std::vector<Bar> bars;
};
PanelLayout panel_layout(const std::vector<std::vector<const float*>>& rows, int H, int W, const PanelStyle& style);

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

}  // namespace sdkd::report
