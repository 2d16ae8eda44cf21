#include "report/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "report/palette.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"

namespace sdkd::report {

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
std::string f2(double v) { return fmt("%.2f", v); }

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
    const double v = std::pow(10.0, t);
    const int k = static_cast<int>(std::floor(t + 1e-9));
    if (k >= -3 && k <= 4) return fmt("%g", std::round(v / std::pow(10.0, k)) * std::pow(10.0, k));
    const double mantissa = std::round(v / std::pow(10.0, k));
    return fmt("%g", mantissa) + "e" + std::to_string(k);
  }
};

// Linear: rounded out to nice steps. Log y: whole decades, or under 1.5 decades rounded out to
// 1, 2, 5 x 10^k. Log x: the data's exact range with ticks at 1, 2, 5 x 10^k inside it
// (wavenumbers 1..32 should fill the width, not 1..100).
Axis make_axis(double lo, double hi, bool log, bool exact_log_range) {
  Axis a;
  a.log = log;
  if (!(lo <= hi)) lo = 0, hi = 1;  // no finite data
  if (log && exact_log_range) {
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    a.lo = lo, a.hi = hi;
    for (int k = int(std::floor(lo)) - 1; k <= int(std::ceil(hi)); ++k)
      for (double m : {1.0, 2.0, 5.0}) {
        const double t = k + std::log10(m);
        if (t >= lo - 1e-9 && t <= hi + 1e-9) a.ticks.push_back(t);
      }
    return a;
  }
  if (log && hi - lo < 1.5) {
    // Under ~1.5 decades whole decades would leave most of the height empty (a loss curve
    // from 1.3 to 0.4 on 0.1..10): round out to the 1, 2, 5 grid and tick on it.
    const auto grid = [](double t, bool up) {
      const int k = int(std::floor(t));
      const double steps[] = {0, std::log10(2.0), std::log10(5.0), 1};
      for (int i = up ? 0 : 3; up ? i < 4 : i >= 0; i += up ? 1 : -1)
        if (up ? k + steps[i] >= t - 1e-9 : k + steps[i] <= t + 1e-9) return k + steps[i];
      return double(k);
    };
    a.lo = grid(lo, false);
    a.hi = grid(hi, true);
    if (a.hi <= a.lo) a.hi = a.lo + std::log10(2.0);
    return make_axis(a.lo, a.hi, true, true);
  }
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

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }
double to_plot(double v, bool log) { return log ? std::log10(v) : v; }

struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
};

std::string color_of(const LineSeries& s) { return s.color.empty() ? hex_color(run_color(s.name)) : s.color; }

void check_series(const std::string& path, const LineSeries& s) {
  SDKD_CHECK(s.xs.size() == s.ys.size(), path, ": series '", s.name, "' has ", s.xs.size(), " x values but ",
             s.ys.size(), " y values");
  SDKD_CHECK((s.lo.empty() && s.hi.empty()) || (s.lo.size() == s.xs.size() && s.hi.size() == s.xs.size()), path,
             ": series '", s.name, "' has a band of ", s.lo.size(), " and ", s.hi.size(), " values for ", s.xs.size(),
             " points");
}

}  // namespace

void write_svg_plot(const std::string& path, const PlotFigure& fig) {
  Range xr;
  for (const auto& p : fig.panels)
    for (const auto& s : p.series) {
      check_series(path, s);
      for (size_t i = 0; i < s.xs.size(); ++i)
        if (usable(s.xs[i], fig.log_x) && usable(s.ys[i], p.log_y)) xr.add(to_plot(s.xs[i], fig.log_x));
    }
  const Axis ax = make_axis(xr.lo, xr.hi, fig.log_x, true);

  const double width = 760, left = 80, right = 190, top = 40, panel_gap = 46;
  const double pw = width - left - right;
  std::vector<std::pair<std::string, std::string>> legend;  // (name, colour), first seen first
  std::set<std::string> seen;
  for (const auto& p : fig.panels)
    for (const auto& s : p.series)
      if (seen.insert(s.name).second) legend.emplace_back(s.name, color_of(s));
  double panels_h = 0;
  for (const auto& p : fig.panels) panels_h += p.height + panel_gap;
  const double legend_h = 18.0 * double(legend.size()) + 10;
  const double height = top + std::max(panels_h, legend_h) + 20 + 18.0 * double(fig.notes.size()) + 10;
  auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * pw; };

  std::string o;
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", width) + "\" height=\"" +
       fmt("%.0f", height) + "\" viewBox=\"0 0 " + fmt("%.0f", width) + " " + fmt("%.0f", height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + fmt("%.1f", left + pw / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" +
       xml_escape(fig.title) + "</text>\n";

  double y_top = top;
  for (const auto& p : fig.panels) {
    Range yr;
    for (const auto& s : p.series)
      for (size_t i = 0; i < s.xs.size(); ++i) {
        if (!usable(s.xs[i], fig.log_x)) continue;
        if (usable(s.ys[i], p.log_y)) yr.add(to_plot(s.ys[i], p.log_y));
        if (!s.lo.empty() && usable(s.lo[i], p.log_y) && usable(s.hi[i], p.log_y))
          yr.add(to_plot(s.lo[i], p.log_y)), yr.add(to_plot(s.hi[i], p.log_y));
      }
    if (p.zero_line && !p.log_y) yr.add(0.0);
    const Axis ay = make_axis(yr.lo, yr.hi, p.log_y, false);
    const double ph = p.height;
    auto py = [&](double y) { return y_top + ph - (y - ay.lo) / (ay.hi - ay.lo) * ph; };

    o += "<g class=\"panel\">\n";
    for (double t : ax.ticks) {
      const std::string x = f2(px(t));
      o += "<line x1=\"" + x + "\" y1=\"" + f2(y_top) + "\" x2=\"" + x + "\" y2=\"" + f2(y_top + ph) +
           "\" stroke=\"#e0e0e0\"/>\n";
      o += "<text class=\"xtick\" x=\"" + x + "\" y=\"" + f2(y_top + ph + 16) + "\" text-anchor=\"middle\">" +
           xml_escape(ax.label(t)) + "</text>\n";
    }
    for (double t : ay.ticks) {
      const std::string y = f2(py(t));
      o += "<line x1=\"" + f2(left) + "\" y1=\"" + y + "\" x2=\"" + f2(left + pw) + "\" y2=\"" + y +
           "\" stroke=\"#e0e0e0\"/>\n";
      o += "<text class=\"ytick\" x=\"" + f2(left - 6) + "\" y=\"" + f2(py(t) + 4) + "\" text-anchor=\"end\">" +
           xml_escape(ay.label(t)) + "</text>\n";
    }
    o += "<rect x=\"" + f2(left) + "\" y=\"" + f2(y_top) + "\" width=\"" + f2(pw) + "\" height=\"" + f2(ph) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
    o += "<text x=\"18\" y=\"" + fmt("%.1f", y_top + ph / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " +
         fmt("%.1f", y_top + ph / 2) + ")\">" + xml_escape(p.y_label) + (p.log_y ? " (log)" : "") + "</text>\n";
    if (p.zero_line && !p.log_y)
      o += "<line class=\"zero\" x1=\"" + f2(left) + "\" y1=\"" + f2(py(0)) + "\" x2=\"" + f2(left + pw) + "\" y2=\"" +
           f2(py(0)) + "\" stroke=\"black\" stroke-dasharray=\"5 3\"/>\n";

    // Bands first, so every line is drawn over every band. A band is one closed polygon per
    // run of consecutive usable points: along hi, then back along lo.
    for (const auto& s : p.series) {
      if (s.lo.empty()) continue;
      const std::string color = color_of(s);
      std::string d;
      size_t i = 0;
      while (i < s.xs.size()) {
        auto ok = [&](size_t k) {
          return usable(s.xs[k], fig.log_x) && usable(s.lo[k], p.log_y) && usable(s.hi[k], p.log_y);
        };
        if (!ok(i)) {
          ++i;
          continue;
        }
        size_t j = i;
        while (j < s.xs.size() && ok(j)) ++j;
        for (size_t k = i; k < j; ++k)
          d += std::string(k == i ? "M" : " L") + f2(px(to_plot(s.xs[k], fig.log_x))) + " " +
               f2(py(to_plot(s.hi[k], p.log_y)));
        for (size_t k = j; k-- > i;)
          d += " L" + f2(px(to_plot(s.xs[k], fig.log_x))) + " " + f2(py(to_plot(s.lo[k], p.log_y)));
        d += " Z ";
        i = j;
      }
      if (!d.empty())
        o += "<path class=\"band\" d=\"" + d + "\" fill=\"" + color + "\" fill-opacity=\"0.18\" stroke=\"none\"/>\n";
    }
    // One path per series; unusable points start a new sub-path instead of being bridged.
    for (const auto& s : p.series) {
      const std::string color = color_of(s);
      std::string d, dots;
      bool pen_down = false;
      for (size_t i = 0; i < s.xs.size(); ++i) {
        if (!usable(s.xs[i], fig.log_x) || !usable(s.ys[i], p.log_y)) {
          pen_down = false;
          continue;
        }
        const std::string x = f2(px(to_plot(s.xs[i], fig.log_x)));
        const std::string y = f2(py(to_plot(s.ys[i], p.log_y)));
        if (!d.empty()) d += ' ';
        d += pen_down ? 'L' : 'M';
        d += x + " " + y;
        pen_down = true;
        if (s.xs.size() <= 40)  // markers only where points are few enough to tell apart
          dots += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"2.5\" fill=\"" + color + "\"/>";
      }
      o += "<g class=\"series\">\n";
      if (!d.empty())
        o += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + fmt("%.2g", s.width) +
             "\"/>" + dots + "\n";
      o += "</g>\n";
    }
    o += "</g>\n";
    y_top += ph + panel_gap;
  }

  o += "<g class=\"legend\">\n";
  for (size_t k = 0; k < legend.size(); ++k) {
    const double ly = top + 10 + 18 * double(k);
    o += "<g class=\"legend-entry\"><line x1=\"" + f2(left + pw + 12) + "\" y1=\"" + f2(ly) + "\" x2=\"" +
         f2(left + pw + 36) + "\" y2=\"" + f2(ly) + "\" stroke=\"" + legend[k].second +
         "\" stroke-width=\"2.5\"/><text x=\"" + f2(left + pw + 42) + "\" y=\"" + f2(ly + 4) + "\">" +
         xml_escape(legend[k].first) + "</text></g>\n";
  }
  o += "</g>\n";
  const double below = y_top - panel_gap + 36;
  o += "<text x=\"" + fmt("%.1f", left + pw / 2) + "\" y=\"" + fmt("%.1f", below) + "\" text-anchor=\"middle\">" +
       xml_escape(fig.x_label) + (fig.log_x ? " (log)" : "") + "</text>\n";
  for (size_t k = 0; k < fig.notes.size(); ++k)
    o += "<text class=\"note\" x=\"10\" y=\"" + fmt("%.1f", below + 20 + 18 * double(k)) +
         "\" font-size=\"11\" fill=\"#333333\">" + xml_escape(fig.notes[k]) + "</text>\n";
  o += "</svg>\n";
  write_text_atomic(path, o);
}

void write_svg_lines(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<LineSeries>& series, bool log_y) {
  PlotFigure fig;
  fig.title = title;
  fig.x_label = x_label;
  PlotPanel panel;
  panel.y_label = y_label;
  panel.log_y = log_y;
  panel.height = 340;
  panel.series = series;
  fig.panels.push_back(panel);
  write_svg_plot(path, fig);
}

}  // namespace sdkd::report
