// The panels' title, colour squares and colour bars: layout from the documented formulas,
// every bar pixel the colour of the value its height stands for, shared ranges under a bar.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "report/figures.hpp"
#include "rgb_print.hpp"

using namespace sdkd::report;


namespace {

int ink_in(const Image& im, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = std::max(0, y0); y < std::min(im.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(im.width, x1); ++x) n += im.at(x, y) == kTextColor;
  return n;
}

}  // namespace

TEST_CASE("figures: colour bars map the value range and rows under one bar share it", "[figures]") {
  const int H = 4, W = 4, s = 5, g = 3, f = 2;
  std::vector<float> truth(H * W), pred(H * W), err(H * W);
  for (int i = 0; i < H * W; ++i) {
    truth[i] = -1.5f + 0.2f * float(i);  // max |truth| = 1.5
    pred[i] = 0.1f * float(i);
    err[i] = 0.05f * float(i % 5) - 0.1f;  // max |err| = 0.1
  }
  pred[7] = -3.0f;  // the largest |value| under the first bar lies in the forecast row
  PanelStyle style;
  style.scale = s;
  style.gap = g;
  style.font_scale = f;
  style.title_lines = {"test trajectory 7", "teacher simvp"};
  style.row_titles = {"truth", "teacher simvp", "error"};
  style.row_colors = {Rgb{0, 0, 0}, Rgb{140, 86, 75}, std::nullopt};
  style.col_titles = {"t+1", "t+2"};
  style.colorbars = {{0, 2, "vorticity"}, {2, 1, "error"}};
  const std::vector<std::vector<const float*>> rows = {{truth.data(), truth.data()},
                                                       {pred.data(), pred.data()},
                                                       {err.data(), nullptr}};
  const Image im = render_panels(rows, H, W, style);
  const PanelLayout L = panel_layout(rows, H, W, style);

  // The documented layout, computed here from its formulas.
  const int line = 9 * f, title_h = 2 * line + g, swatch = 8 * f;
  const int label_w = g + swatch + (13 * 6 - 1) * f + g;  // "teacher simvp" is the longest title
  const int label_h = 7 * f + g;
  const int grid_x = label_w + g, grid_y = title_h + label_h + g;
  const int pitch_x = W * s + g, pitch_y = H * s + g;
  CHECK(L.grid_x == grid_x);
  CHECK(L.grid_y == grid_y);
  CHECK(L.height == grid_y + 3 * pitch_y);
  CHECK(im.height == L.height);
  const int bar_x = grid_x + 2 * pitch_x + 2 * f;
  REQUIRE(L.bars.size() == 2);
  CHECK(L.bars[0].x == bar_x);
  CHECK(L.bars[0].y == grid_y);
  CHECK(L.bars[0].h == 2 * pitch_y - g);
  CHECK(L.bars[1].y == grid_y + 2 * pitch_y);
  CHECK(L.bars[1].h == pitch_y - g);
  // The widest bar text is "+0.1"/"-0.1"/"-3"/"+3"/"vorticity": "vorticity", 9 characters.
  CHECK(im.width == bar_x + 10 * f - 2 * f + (9 * 6 - 1) * f + g);

  // Ranges: the max |value| over the rows under each bar (the forecast's -3; the error's 0.1).
  CHECK(L.bars[0].vmax == 3.0f);
  CHECK(L.bars[1].vmax == Approx(0.1f));
  const float vmax[3] = {3.0f, 3.0f, L.bars[1].vmax};
  // Every field cell: the colormap at its row's shared range (truth too, not its own 1.5).
  const float* fields[3] = {truth.data(), pred.data(), err.data()};
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        CAPTURE(r, i, j);
        CHECK(im.at(grid_x + j * s + 2, grid_y + r * pitch_y + i * s + 2) == diverging_color(fields[r][i * W + j], vmax[r]));
      }

  // Every bar pixel: the value its height stands for, top +vmax to bottom -vmax.
  for (const auto& bar : L.bars) {
    for (int y = 0; y < bar.h; ++y) {
      const double v = bar.vmax * (1.0 - 2.0 * (y + 0.5) / bar.h);
      for (int x = 0; x < bar.w; ++x) {
        CAPTURE(bar.y, y, x);
        REQUIRE(im.at(bar.x + x, bar.y + y) == diverging_color(float(v), bar.vmax));
      }
    }
    // Ends near the colormap's ends, the middle white: the bar spans the whole range.
    const Rgb top = im.at(bar.x, bar.y), bottom = im.at(bar.x, bar.y + bar.h - 1);
    CHECK(std::abs(int(top.r) - int(kHotEnd.r)) + std::abs(int(top.g) - int(kHotEnd.g)) < 40);
    CHECK(std::abs(int(bottom.b) - int(kColdEnd.b)) + std::abs(int(bottom.g) - int(kColdEnd.g)) < 40);
    // Outlined one pixel outside.
    CHECK(im.at(bar.x - 1, bar.y + bar.h / 2) == kTextColor);
    CHECK(im.at(bar.x + bar.w, bar.y + bar.h / 2) == kTextColor);
    CHECK(im.at(bar.x + 1, bar.y - 1) == kTextColor);
    CHECK(im.at(bar.x + 1, bar.y + bar.h) == kTextColor);
  }
  // The range's top end is written beside the bar: the same ink as "+3" drawn on its own.
  Image ref;
  ref.width = im.width;
  ref.height = im.height;
  ref.rgb.assign(im.rgb.size(), 255);  // white: no ink
  const int tx = bar_x + 6 * f + 2 * f;
  draw_text(ref, tx, grid_y, "+3", f, kTextColor);
  REQUIRE(ink_in(ref, tx, grid_y, tx + 12 * f, grid_y + 7 * f) > 20);  // the comparison below is not vacuous
  for (int y = grid_y; y < grid_y + 7 * f; ++y)
    for (int x = tx; x < tx + 12 * f; ++x) CHECK((im.at(x, y) == kTextColor) == (ref.at(x, y) == kTextColor));

  // Colour squares before the titles that have one; none before "error".
  const int ty0 = grid_y + (H * s - 7 * f) / 2, ty1 = grid_y + pitch_y + (H * s - 7 * f) / 2;
  const int sx0 = label_w - g - (5 * 6 - 1) * f - 8 * f;   // before "truth"
  const int sx1 = label_w - g - (13 * 6 - 1) * f - 8 * f;  // before "teacher simvp"
  CHECK(im.at(sx0 + 3, ty0 + 3) == Rgb{0, 0, 0});
  CHECK(im.at(sx1 + 3, ty1 + 3) == Rgb{140, 86, 75});
  const int ty2 = grid_y + 2 * pitch_y + (H * s - 7 * f) / 2;
  CHECK(ink_in(im, 0, ty2, label_w - g - (5 * 6 - 1) * f - 1, ty2 + 7 * f) == 0);
  // Title ink sits in the title strip, above the column titles.
  CHECK(ink_in(im, 0, 0, im.width, title_h) > 50);
  CHECK(ink_in(im, grid_x, title_h, im.width, grid_y - g) > 20);  // "T+1", "T+2"
}

TEST_CASE("figures: colour bars over rows that do not exist are refused", "[figures]") {
  const float f[4] = {0, 1, 2, 3};
  PanelStyle style;
  style.colorbars = {{1, 2, "x"}};
  REQUIRE_THROWS_WITH(render_panels({{f}, {f}}, 2, 2, style), Catch::Matchers::Contains("colour bar over rows 1..2 of 2"));
}
