// PNG panels and SVG line plots. The PNG is decoded here with zlib (inflate + PNG row filters,
// written from the PNG spec) and compared pixel by pixel with the expected layout and colours.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/toy.hpp"
#include "report/figures.hpp"
#include "rgb_print.hpp"
#include "report/palette.hpp"
#include "report/svg_plot.hpp"
#include "svg_check.hpp"
#include "sdkd/error.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sdkd::report::Rgb;
using sdkd::test::read_bytes;
using sdkd::test::TempDir;
using sdkd::test::check_balanced_xml;

namespace {

uint32_t be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

struct Decoded {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// Minimal decoder for 8-bit RGB, non-interlaced PNG: checks every chunk's CRC, inflates the
// IDAT stream and undoes the per-row filters (None, Sub, Up, Average, Paeth).
Decoded decode_png(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  Decoded out;
  std::string idat;
  bool seen_end = false;
  for (size_t at = 8; at + 12 <= png.size() && !seen_end;) {
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    REQUIRE(at + 12 + len <= png.size());
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4);
    CHECK(crc == be32(png, at + 8 + len));
    const std::string data = png.substr(at + 8, len);
    if (type == "IHDR") {
      out.width = be32(data, 0);
      out.height = be32(data, 4);
      CHECK(static_cast<int>(data[8]) == 8);   // bit depth
      CHECK(static_cast<int>(data[9]) == 2);   // colour type RGB
      CHECK(static_cast<int>(data[12]) == 0);  // not interlaced
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      seen_end = true;
    }
    at += 12 + len;
  }
  CHECK(seen_end);
  const size_t stride = 3 * out.width;
  std::vector<uint8_t> raw((stride + 1) * out.height);
  uLongf raw_len = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(raw_len == raw.size());
  out.rgb.resize(stride * out.height);
  for (size_t y = 0; y < out.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &out.rgb[y * stride];
    const uint8_t* up = y ? &out.rgb[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? row[i - 3] : 0, b = up ? up[i] : 0, c = (up && i >= 3) ? up[i - 3] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: FAIL("bad PNG filter type " << int(filter));
      }
      row[i] = static_cast<uint8_t>(in[i] + pred);
    }
  }
  return out;
}

Rgb lerp_color(Rgb from, Rgb to, double t) {
  auto ch = [t](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + (double(b) - a) * t)); };
  return {ch(from.r, to.r), ch(from.g, to.g), ch(from.b, to.b)};
}

}  // namespace


TEST_CASE("figures: diverging colormap endpoints, midpoint, clamping, NaN", "[figures]") {
  using namespace sdkd::report;
  const float m = 2.5f;
  CHECK(diverging_color(-m, m) == kColdEnd);
  CHECK(diverging_color(0.f, m) == kMidColor);
  CHECK(diverging_color(m, m) == kHotEnd);
  CHECK(diverging_color(-10 * m, m) == kColdEnd);
  CHECK(diverging_color(10 * m, m) == kHotEnd);
  CHECK(diverging_color(INFINITY, m) == kHotEnd);
  CHECK(diverging_color(-INFINITY, m) == kColdEnd);
  CHECK(diverging_color(NAN, m) == kNanColor);
  CHECK(diverging_color(1.f, 0.f) == kMidColor);  // degenerate range: everything is "zero"
  // Linear in between: a quarter of the way to the hot end and half way to the cold end.
  CHECK(diverging_color(0.25f * m, m) == lerp_color(kMidColor, kHotEnd, 0.25));
  CHECK(diverging_color(-0.5f * m, m) == lerp_color(kMidColor, kColdEnd, 0.5));
  // Symmetry around zero in "distance from white".
  const Rgb pos = diverging_color(0.6f, 1.f), neg = diverging_color(-0.6f, 1.f);
  CHECK(255 - pos.r == std::lround(0.6 * (255 - kHotEnd.r)));
  CHECK(255 - neg.b == std::lround(0.6 * (255 - kColdEnd.b)));
}

TEST_CASE("figures: 5x7 font glyphs and text drawing", "[figures]") {
  using namespace sdkd::report;
  // '1' and 'T' as drawn in the font table, spelled out here as pictures.
  const char* one[7] = {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."};
  const char* tee[7] = {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."};
  Image im;
  im.width = 40;
  im.height = 20;
  im.rgb.assign(static_cast<size_t>(im.width * im.height * 3), 255);
  draw_text(im, 1, 2, "1t", 2, kTextColor);  // lower case draws as upper case; scale 2
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 5; ++c)
      for (int k = 0; k < 2; ++k) {
        const char* const* glyph = k == 0 ? one : tee;
        const bool ink = glyph[r][c] == '#';
        const int x0 = 1 + k * 12 + 2 * c, y0 = 2 + 2 * r;
        CAPTURE(k, r, c);
        for (int d = 0; d < 4; ++d) CHECK((im.at(x0 + d % 2, y0 + d / 2) == kTextColor) == ink);
      }
  // Nothing drawn outside the two cells, and unknown characters fall back to '?'.
  CHECK(im.at(0, 0) == Rgb{255, 255, 255});
  CHECK(im.at(39, 19) == Rgb{255, 255, 255});
  CHECK(std::memcmp(glyph_rows('~'), glyph_rows('?'), 7) == 0);
  CHECK(std::memcmp(glyph_rows('e'), glyph_rows('E'), 7) == 0);
  CHECK(std::memcmp(glyph_rows('E'), glyph_rows('F'), 7) != 0);
  // Drawing off the edge clips instead of writing out of bounds.
  draw_text(im, 38, 18, "WW", 3, kTextColor);
  draw_text(im, -50, -50, "W", 1, kTextColor);
}

TEST_CASE("figures: PNG panels decode to the expected layout and colours", "[figures]") {
  using namespace sdkd::report;
  TempDir tmp("fig_png");
  const int H = 2, W = 3;
  // Row 0: truth and prediction; row 1: error with a given range and a missing panel.
  const float truth[H * W] = {-1.f, 0.f, 1.f, 0.5f, -0.25f, 2.f};
  const float pred[H * W] = {-0.5f, 0.1f, 0.9f, NAN, -4.f, 1.5f};  // -4: largest |value| of the row
  const float err[H * W] = {0.1f, -0.2f, 0.3f, 0.f, 0.05f, -0.3f};
  PanelStyle style;
  style.scale = 3;
  style.gap = 2;
  style.font_scale = 1;
  style.row_titles = {"truth", "err"};
  style.col_titles = {"t+1", "t+2"};
  style.row_vmax = {0.f, 0.6f};
  const std::vector<std::vector<const float*>> rows = {{truth, pred}, {err, nullptr}};
  const std::string path = tmp / "panels.png";
  write_png_panels(path, rows, H, W, style);

  const Decoded png = decode_png(read_bytes(path));
  const int label_w = 2 + (5 * 6 - 1) * 1 + 2;  // "truth" is the longest row title, a gap each side
  const int label_h = 7 + 2;
  const int pw = W * 3, ph = H * 3;
  CHECK(png.width == static_cast<uint32_t>(label_w + 2 + 2 * (pw + 2)));
  CHECK(png.height == static_cast<uint32_t>(label_h + 2 + 2 * (ph + 2)));
  REQUIRE(png.rgb.size() == 3u * png.width * png.height);
  auto pixel = [&](int x, int y) {
    const uint8_t* p = &png.rgb[(static_cast<size_t>(y) * png.width + x) * 3];
    return Rgb{p[0], p[1], p[2]};
  };

  const float* fields[2][2] = {{truth, pred}, {err, nullptr}};
  const float vmax[2] = {4.f, 0.6f};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j)
          for (int dy = 0; dy < 3; ++dy)
            for (int dx = 0; dx < 3; ++dx) {
              const int x = label_w + 2 + c * (pw + 2) + j * 3 + dx;
              const int y = label_h + 2 + r * (ph + 2) + i * 3 + dy;
              const Rgb want = fields[r][c] ? diverging_color(fields[r][c][i * W + j], vmax[r]) : kBackground;
              CAPTURE(r, c, i, j, dx, dy);
              REQUIRE(pixel(x, y) == want);
            }
  // Spot checks against the colormap's fixed points: truth's -1 at vmax 4 is a pale blue,
  // pred's -4 is the cold end, the NaN is the NaN colour.
  const int x_pred = label_w + 2 + pw + 2, y_row0 = label_h + 2;
  CHECK(pixel(x_pred + 1 * 3, y_row0 + 1 * 3) == kColdEnd);
  CHECK(pixel(x_pred, y_row0 + 3) == kNanColor);
  // Gaps between panels are background; labels put ink only in the margins.
  CHECK(pixel(label_w + 2 + pw, y_row0) == kBackground);
  CHECK(pixel(label_w + 2 + pw + 1, y_row0 + ph - 1) == kBackground);
  int ink_left = 0, ink_top = 0;
  for (uint32_t y = 0; y < png.height; ++y)
    for (uint32_t x = 0; x < png.width; ++x)
      if (pixel(static_cast<int>(x), static_cast<int>(y)) == kTextColor) {
        CHECK((static_cast<int>(x) < label_w || static_cast<int>(y) < label_h));
        (static_cast<int>(x) < label_w ? ink_left : ink_top)++;
      }
  CHECK(ink_left > 20);  // "TRUTH" and "ERR"
  CHECK(ink_top > 20);   // "T+1" and "T+2"

  // The PNG holds exactly what render_panels produced.
  const Image im = render_panels(rows, H, W, style);
  CHECK(im.rgb == png.rgb);
  CHECK(tmp.count() == 1);
}

TEST_CASE("figures: PNG errors are clear and leave no file", "[figures]") {
  using namespace sdkd::report;
  TempDir tmp("fig_pngbad");
  const float f[4] = {0, 1, 2, 3};
  const std::string nodir = tmp / "missing/x.png";
  REQUIRE_THROWS_WITH(write_png_panels(nodir, {{f}}, 2, 2), Contains(nodir));
  REQUIRE_THROWS_WITH(write_png_panels(tmp / "e.png", {}, 2, 2), Contains("e.png") && Contains("nothing to draw"));
  REQUIRE_THROWS_WITH(write_png_panels(tmp / "z.png", {{f}}, 0, 2), Contains("field size"));
  CHECK(tmp.count() == 0);
}

namespace {

// Points of the n-th series path ("M x y L x y ..."): command letter and coordinates.
std::vector<std::pair<char, std::pair<double, double>>> path_points(const std::string& svg, int n) {
  size_t at = 0;
  for (int k = 0; k <= n; ++k) {
    at = svg.find("<g class=\"series\">", at);
    REQUIRE(at != std::string::npos);
    at += 5;
  }
  const size_t d = svg.find(" d=\"", at);
  REQUIRE(d != std::string::npos);
  const size_t end = svg.find('"', d + 4);
  std::istringstream text(svg.substr(d + 4, end - d - 4));
  std::vector<std::pair<char, std::pair<double, double>>> pts;
  std::string command;
  double y = 0;
  while (text >> command >> y) {
    REQUIRE((command[0] == 'M' || command[0] == 'L'));
    pts.push_back({command[0], {std::stod(command.substr(1)), y}});
  }
  return pts;
}

}  // namespace

TEST_CASE("figures: SVG line plot is well formed and maps the data", "[figures]") {
  using namespace sdkd::report;
  TempDir tmp("fig_svg");
  std::vector<LineSeries> series(2);
  series[0].name = "teacher <T1> & co";
  series[1].name = "student";
  for (int t = 1; t <= 10; ++t) {
    series[0].xs.push_back(t);
    series[0].ys.push_back(0.05 * t);
    series[1].xs.push_back(t);
    series[1].ys.push_back(t == 4 ? NAN : 0.5 - 0.02 * t);
  }
  const std::string path = tmp / "lead.svg";
  write_svg_lines(path, "MSE per lead time", "lead time", "MSE", series, false);
  const std::string svg = read_bytes(path);
  check_balanced_xml(svg);
  CHECK_THAT(svg, Contains("teacher &lt;T1&gt; &amp; co") && Contains(">student<") &&
                      Contains("MSE per lead time") && Contains(">lead time<"));

  // Teacher: 10 points, one stroke; x spacing constant; y rises so SVG y (downward) falls.
  const auto t = path_points(svg, 0);
  REQUIRE(t.size() == 10);
  CHECK(t[0].first == 'M');
  for (size_t i = 1; i < t.size(); ++i) {
    CHECK(t[i].first == 'L');
    CHECK(t[i].second.first - t[i - 1].second.first == Approx(t[1].second.first - t[0].second.first).margin(0.02));
    CHECK(t[i].second.second < t[i - 1].second.second);
    // y linear in the data: equal steps in y give equal steps on screen.
    CHECK(t[i].second.second - t[i - 1].second.second ==
          Approx(t[1].second.second - t[0].second.second).margin(0.02));
  }
  // Student: the NaN at t = 4 breaks the line into two strokes of 3 and 6 points.
  const auto s = path_points(svg, 1);
  REQUIRE(s.size() == 9);
  CHECK(s[0].first == 'M');
  CHECK(s[3].first == 'M');
  CHECK(s[3].second.first == Approx(t[4].second.first).margin(0.01));  // t = 5 lines up across series
  // Both series share the axes: student's 0.4 (t = 5) is above teacher's 0.25 (t = 5) on screen.
  CHECK(s[3].second.second < t[4].second.second);
}

TEST_CASE("figures: SVG log axis uses decades and skips non-positive values", "[figures]") {
  using namespace sdkd::report;
  TempDir tmp("fig_svglog");
  LineSeries spectrum;
  spectrum.name = "energy";
  spectrum.xs = {1, 2, 3, 4, 5};
  spectrum.ys = {1.0, 0.1, 0.0, 0.001, 1e-4};
  const std::string path = tmp / "spectrum.svg";
  write_svg_lines(path, "Energy spectrum", "k", "E(k)", {spectrum}, true);
  const std::string svg = read_bytes(path);
  check_balanced_xml(svg);
  for (const char* tick : {">1e-4<", ">0.001<", ">0.01<", ">0.1<", ">1<"}) CHECK_THAT(svg, Contains(tick));
  const auto p = path_points(svg, 0);
  REQUIRE(p.size() == 4);  // the zero is left out
  CHECK(p[2].first == 'M');
  // Equal ratios are equal distances: 1 -> 0.1 is one decade, 0.001 -> 1e-4 is one decade.
  CHECK(p[1].second.second - p[0].second.second == Approx(p[3].second.second - p[2].second.second).margin(0.02));

  // Mismatched series lengths: one clear error, no file.
  LineSeries bad;
  bad.name = "bad";
  bad.xs = {1, 2};
  bad.ys = {1};
  REQUIRE_THROWS_WITH(write_svg_lines(tmp / "bad.svg", "", "", "", {bad}),
                      Contains("bad.svg") && Contains("series 'bad'") && Contains("2 x values but 1 y values"));
  CHECK(!fs::exists(tmp / "bad.svg"));
  // No data at all still gives a valid, empty plot.
  write_svg_lines(tmp / "empty.svg", "nothing", "x", "y", {}, false);
  check_balanced_xml(read_bytes(tmp / "empty.svg"));
}

TEST_CASE("figures: SVG bands break at missing points, narrow log ranges tick on 1-2-5", "[figures]") {
  using namespace sdkd::report;
  TempDir tmp("fig_svgband");
  LineSeries s;
  s.name = "student alone";
  s.xs = {1, 2, 3, 4, 5};
  s.ys = {0.4, 0.5, 0.6, 0.7, 0.8};
  s.lo = {0.35, 0.45, NAN, 0.65, 0.75};
  s.hi = {0.45, 0.55, 0.65, 0.75, 0.85};
  PlotFigure fig;
  fig.title = "t";
  fig.x_label = "x";
  PlotPanel p;
  p.y_label = "y";
  p.log_y = true;  // 0.35 .. 0.85: under half a decade
  p.series = {s};
  fig.panels = {p};
  const std::string path = tmp / "band.svg";
  write_svg_plot(path, fig);
  const std::string svg = read_bytes(path);
  check_balanced_xml(svg);
  // One band element, two closed polygons (points 1-2 and 4-5), each 2 x 2 corners.
  const size_t band = svg.find("<path class=\"band\"");
  REQUIRE(band != std::string::npos);
  const std::string d = sdkd::test::attribute(svg.substr(band), "d");
  CHECK(sdkd::test::count_of(d, "Z") == 2);
  CHECK(sdkd::test::path_points_of(d).size() == 8);
  // The band is filled in the run's palette colour, the line drawn over it (after it).
  CHECK(sdkd::test::attribute(svg.substr(band), "fill") == hex_color(run_color("student alone")));
  CHECK(svg.find("<g class=\"series\">") > band);
  // Ticks on the 1-2-5 grid around the data (0.2 and 0.5 below 1, 1 above), not 0.1 and 1 only.
  for (const char* tick : {">0.2<", ">0.5<", ">1<"}) CHECK_THAT(svg, Contains(tick));
  CHECK(svg.find(">0.1<") == std::string::npos);

  // A band that does not match its points is one error naming the series.
  fig.panels[0].series[0].lo.pop_back();
  REQUIRE_THROWS_WITH(write_svg_plot(tmp / "bad.svg", fig),
                      Contains("series 'student alone' has a band of 4 and 5 values for 5 points"));
}
