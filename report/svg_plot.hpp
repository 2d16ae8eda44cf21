#pragma once
// Line plots as SVG for the report: one or more panels stacked over a shared x axis, each
// series a line with an optional shaded band (e.g. the spread over seeds), optional log axes
// and a zero line, one legend for the figure and notes under it (what an axis means).
#include <string>
#include <vector>

namespace sdkd::report {

struct LineSeries {
  std::string name;
  // Same length; a non-finite point (or y <= 0 on a log axis) breaks the line and the band.
  std::vector<double> xs, ys;
  std::vector<double> lo, hi;  // a band from lo to hi at each x, or both empty for none
  std::string color;           // "#rrggbb"; empty: run_color(name) (palette.hpp)
  double width = 1.8;          // stroke width
};

struct PlotPanel {
  std::string y_label;
  bool log_y = false;      // decades as ticks
  bool zero_line = false;  // a dashed line at y = 0, which the y range then always includes
  double height = 280;     // of the plotting area, SVG pixels
  std::vector<LineSeries> series;
};

struct PlotFigure {
  std::string title, x_label;
  bool log_x = false;  // ticks at 1, 2, 5 times powers of ten inside the data's range
  std::vector<PlotPanel> panels;
  std::vector<std::string> notes;  // one line of small text each, under the x label
};

// Writes the figure atomically. Structure, for readers and tests: per panel one
// <g class="panel">, inside it the bands (<path class="band">) before the lines, each line its
// own <g class="series"> (a <path> whose d is "M x y L x y ...", markers when a series has at
// most 40 points), the zero line <line class="zero">; then one <g class="legend"> with one
// <g class="legend-entry"> per distinct series name (a name repeated over seeds or panels
// appears once, in its colour).
void write_svg_plot(const std::string& path, const PlotFigure& figure);

// One panel: write_svg_plot with a single PlotPanel of these series.
void write_svg_lines(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<LineSeries>& series,
                     bool log_y = false);

}  // namespace sdkd::report
