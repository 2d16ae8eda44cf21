// The study's line figures: bands over seeds, the paired change against the student alone,
// the spectrum's axes and notes, training curves; series counted per panel and their points
// checked against the numbers put in.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "common/toy.hpp"
#include "report/palette.hpp"
#include "report/study_figures.hpp"
#include "svg_check.hpp"

using namespace sdkd::report;
using sdkd::test::attribute;
using sdkd::test::count_of;
using sdkd::test::elements;
using sdkd::test::path_points_of;
using sdkd::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// The points of the line of each <g class="series"> of a panel.
std::vector<std::vector<sdkd::test::PathPoint>> lines_of(const std::string& panel) {
  std::vector<std::vector<sdkd::test::PathPoint>> out;
  for (const auto& g : elements(panel, "<g class=\"series\">", "g")) out.push_back(path_points_of(attribute(g, "d")));
  return out;
}

std::vector<std::string> bands_of(const std::string& panel) {
  std::vector<std::string> out;
  for (size_t at = panel.find("<path class=\"band\""); at != std::string::npos;
       at = panel.find("<path class=\"band\"", at + 1))
    out.push_back(panel.substr(at, panel.find("/>", at) - at));
  return out;
}

// Three lead times; the student alone and two KD runs over seeds 0..2, a teacher once.
std::vector<SeedCurves> study_runs() {
  SeedCurves alone{"student alone", true, {0, 1, 2}, {{0.10, 0.20, 0.40}, {0.12, 0.22, 0.42}, {0.11, 0.21, 0.41}}};
  // sdkd: 10 % better than alone on every seed and lead time; output 20 % worse. Listed in
  // another seed order than the reference, so pairing has to go by seed, not by position.
  SeedCurves sdkd{"student + sdkd", true, {2, 0, 1}, {}};
  SeedCurves output{"student + output", true, {0, 1, 2}, {}};
  for (int64_t s : sdkd.seeds) {
    std::vector<double> c;
    for (double v : alone.curves[size_t(s)]) c.push_back(0.9 * v);
    sdkd.curves.push_back(c);
  }
  for (int64_t s : output.seeds) {
    std::vector<double> c;
    for (double v : alone.curves[size_t(s)]) c.push_back(1.2 * v);
    output.curves.push_back(c);
  }
  SeedCurves teacher{"teacher simvp", false, {0}, {{0.05, 0.08, 0.12}}};
  return {teacher, alone, sdkd, output};
}

}  // namespace

TEST_CASE("study figures: seed band and paired change", "[figures]") {
  const SeedBand b = seed_band({{1, 4}, {3, 2}, {2, 9}});
  CHECK(b.seeds == 3);
  CHECK(b.mean == std::vector<double>{2, 5});
  CHECK(b.lo == std::vector<double>{1, 2});
  CHECK(b.hi == std::vector<double>{3, 9});
  CHECK(seed_band({}).mean.empty());
  REQUIRE_THROWS_WITH(seed_band({{1, 2}, {1}}), Contains("2 and 1 points"));

  const auto runs = study_runs();
  const SeedBand d = paired_change(runs[2], runs[1]);  // sdkd vs alone: -10 % on every seed
  REQUIRE(d.seeds == 3);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(d.mean[k] == Approx(-10.0));
    CHECK(d.lo[k] == Approx(-10.0));
    CHECK(d.hi[k] == Approx(-10.0));
  }
  // Seeds only one run has are left out; a zero in the reference gives no number.
  SeedCurves a{"a", true, {0, 5}, {{2.0, 3.0}, {9.0, 9.0}}};
  SeedCurves ref{"ref", true, {0, 1}, {{1.0, 0.0}, {1.0, 1.0}}};
  const SeedBand p = paired_change(a, ref);
  CHECK(p.seeds == 1);
  CHECK(p.mean[0] == Approx(100.0));
  CHECK(std::isnan(p.mean[1]));
}

TEST_CASE("study figures: lead time with bands over seeds and the difference panel", "[figures]") {
  TempDir tmp("fig_lead");
  const auto runs = study_runs();
  const std::string path = tmp / "lead_time.svg";
  write_lead_time_figure(path, runs, "student alone", "relative L2 error");
  const std::string svg = sdkd::test::read_bytes(path);
  sdkd::test::check_balanced_xml(svg);
  const auto panels = elements(svg, "<g class=\"panel\">", "g");
  REQUIRE(panels.size() == 2);

  // Top: every run, each with its band; bottom: the two KD runs only (not the reference).
  const auto top = lines_of(panels[0]), bottom = lines_of(panels[1]);
  CHECK(top.size() == runs.size());
  CHECK(bands_of(panels[0]).size() == runs.size());
  CHECK(bottom.size() == 2);
  CHECK(bands_of(panels[1]).size() == 2);
  CHECK(count_of(panels[0], "class=\"zero\"") == 0);
  REQUIRE(count_of(panels[1], "class=\"zero\"") == 1);
  // Legend: one entry per run, in the run's palette colour, the same in both panels.
  CHECK(count_of(svg, "<g class=\"legend-entry\">") == runs.size());
  for (const auto& r : runs) CHECK_THAT(svg, Contains("stroke=\"" + hex_color(run_color(r.name)) + "\""));
  const auto series_bottom = elements(panels[1], "<g class=\"series\">", "g");
  CHECK(attribute(series_bottom[0], "stroke") == hex_color(run_color("student + sdkd")));
  CHECK(attribute(series_bottom[1], "stroke") == hex_color(run_color("student + output")));

  // The student alone's band brackets its mean line on screen (SVG y grows downwards), and
  // its width follows the seeds' spread: 0.02 at every lead time here.
  const auto alone_band = path_points_of(attribute(bands_of(panels[0])[1], "d"));
  REQUIRE(alone_band.size() == 6);  // three points along the top, three back along the bottom
  for (size_t k = 0; k < 3; ++k) {
    const double hi_y = alone_band[k].y, lo_y = alone_band[5 - k].y, mean_y = top[1][k].y;
    CHECK(alone_band[k].x == Approx(top[1][k].x));
    CHECK(hi_y < mean_y);
    CHECK(mean_y < lo_y);
    CHECK(mean_y - hi_y == Approx(lo_y - mean_y).margin(0.02));  // the mean 0.11 is mid-way in [0.10, 0.12]
  }
  // Bottom: sdkd at -10 % lies below the zero line, output at +20 % above, twice as far.
  const std::string zero = panels[1].substr(panels[1].find("class=\"zero\""));
  const double y0 = std::stod(attribute(zero, "y1"));
  for (size_t k = 0; k < 3; ++k) {
    CHECK(bottom[0][k].y > y0);
    CHECK(bottom[1][k].y < y0);
    CHECK(y0 - bottom[1][k].y == Approx(2 * (bottom[0][k].y - y0)).margin(0.05));
  }
  CHECK_THAT(svg, Contains("change vs student alone (%)") && Contains("min to max over the seeds"));

  // Without the reference run there is nothing to pair with: one panel.
  write_lead_time_figure(tmp / "no_ref.svg", {runs[0], runs[2]}, "student alone", "relative L2 error");
  CHECK(elements(sdkd::test::read_bytes(tmp / "no_ref.svg"), "<g class=\"panel\">", "g").size() == 1);
}

TEST_CASE("study figures: enstrophy spectrum on log-log axes with its difference panel", "[figures]") {
  TempDir tmp("fig_spec");
  // Shells 0..6; k_max 5 leaves shell 6 out. E(k) = k^-3 for the truth.
  std::vector<double> truth;
  for (int k = 0; k <= 6; ++k) truth.push_back(k == 0 ? 7.0 : std::pow(k, -3.0));
  auto scaled = [&](double f) {
    std::vector<double> v;
    for (double e : truth) v.push_back(f * e);
    return v;
  };
  SeedCurves alone{"student alone", true, {0, 1}, {scaled(0.8), scaled(0.9)}};
  SeedCurves sdkd{"student + sdkd", true, {0, 1}, {scaled(0.88), scaled(0.99)}};  // +10 % on both seeds
  const std::string path = tmp / "spectrum.svg";
  write_spectrum_figure(path, truth, {alone, sdkd}, "student alone", 5);
  const std::string svg = sdkd::test::read_bytes(path);
  sdkd::test::check_balanced_xml(svg);
  const auto panels = elements(svg, "<g class=\"panel\">", "g");
  REQUIRE(panels.size() == 2);
  const auto top = lines_of(panels[0]), bottom = lines_of(panels[1]);
  REQUIRE(top.size() == 3);  // truth, alone, sdkd
  CHECK(bottom.size() == 1);
  CHECK(bands_of(panels[0]).size() == 2);  // the truth has no seeds, so no band
  for (const auto& l : top) CHECK(l.size() == 5);  // shells 1..5
  // Log x: equal ratios are equal distances (1 -> 2 and 2 -> 4).
  CHECK(top[0][1].x - top[0][0].x == Approx(top[0][3].x - top[0][1].x).margin(0.02));
  // Log y, a power law is a straight line: equal steps between shells 1, 2, 4.
  CHECK(top[0][1].y - top[0][0].y == Approx(top[0][3].y - top[0][1].y).margin(0.02));
  // The 1-2-5 ticks of the wavenumber axis, and what the y axis is.
  for (const char* tick : {">1<", ">2<", ">5<"}) CHECK_THAT(panels[0], Contains(tick));
  CHECK_THAT(svg, Contains("enstrophy spectrum Z(k) (log)") && Contains("wavenumber shell k = round(|k|) (log)"));
  CHECK_THAT(svg, Contains("1/2 mean(w^2)") && Contains("DFT of the vorticity / (H W)"));
  // The difference is +10 % at every shell: a flat line above the zero line.
  const double y0 = std::stod(attribute(panels[1].substr(panels[1].find("class=\"zero\"")), "y1"));
  for (const auto& p : bottom[0]) {
    CHECK(p.y == Approx(bottom[0][0].y).margin(0.02));
    CHECK(p.y < y0);
  }
}

TEST_CASE("study figures: training curves, one line per run and seed", "[figures]") {
  TempDir tmp("fig_train");
  std::vector<TrainingHistory> runs = {
      {"teacher simvp", 0, {0, 1, 2}, {1.0, 0.5, 0.25}, {0.8, 0.4, 0.2}},
      {"student alone", 0, {0, 1}, {2.0, 1.0}, {1.5, 1.2}},
      {"student alone", 1, {0, 1}, {2.2, 1.1}, {1.6, 1.3}},
  };
  const std::string path = tmp / "training.svg";
  write_training_figure(path, runs);
  const std::string svg = sdkd::test::read_bytes(path);
  sdkd::test::check_balanced_xml(svg);
  const auto panels = elements(svg, "<g class=\"panel\">", "g");
  REQUIRE(panels.size() == 2);
  CHECK(lines_of(panels[0]).size() == 3);
  CHECK(lines_of(panels[1]).size() == 3);
  CHECK(count_of(svg, "<g class=\"legend-entry\">") == 2);  // two seeds of one run: one entry
  CHECK_THAT(panels[0], Contains("train loss (log)"));
  CHECK_THAT(panels[1], Contains("validation MSE (log)"));
  // The teacher's loss halves every epoch: equal steps on the log axis, and epochs count from 1.
  const auto t = lines_of(panels[0])[0];
  REQUIRE(t.size() == 3);
  CHECK(t[1].y - t[0].y == Approx(t[2].y - t[1].y).margin(0.02));
  CHECK_THAT(panels[0], Contains(">1<"));
  // Both seeds of the student alone share its colour.
  const auto series = elements(panels[1], "<g class=\"series\">", "g");
  CHECK(attribute(series[1], "stroke") == hex_color(run_color("student alone")));
  CHECK(attribute(series[2], "stroke") == attribute(series[1], "stroke"));

  runs[0].val_mse.pop_back();
  REQUIRE_THROWS_WITH(write_training_figure(tmp / "bad.svg", runs),
                      Contains("teacher simvp") && Contains("3 epochs but 3 losses and 2 validation values"));
}
