// One colour per run: names, the colour of a name whatever else was asked before, distinct
// colours for the study's runs, and the "#rrggbb" spelling SVG needs.
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "report/palette.hpp"

using namespace sdkd::report;

TEST_CASE("palette: run names from role, model and KD method", "[palette]") {
  CHECK(run_name("teacher", "simvp", "-") == "teacher simvp");
  CHECK(run_name("student", "unet", "none") == "student alone");
  CHECK(run_name("student", "unet", "sdkd") == "student + sdkd");
  CHECK(run_name("baseline", "persistence", "-") == "persistence");
}

TEST_CASE("palette: a name's colour does not depend on what was asked before", "[palette]") {
  const std::vector<std::string> names = {"truth",         "persistence",      "student alone", "student + sdkd",
                                          "student + output", "student + feature", "student + ab", "teacher simvp",
                                          "teacher alternet", "teacher mine",     "student + custom"};
  std::vector<Rgb> first;
  for (const auto& n : names) first.push_back(run_color(n));
  // Asked again in reverse order, interleaved with other names: the same colours.
  for (size_t k = names.size(); k-- > 0;) {
    (void)run_color("something else " + std::to_string(k));
    CHECK(run_color(names[k]) == first[k]);
  }
  // The study's own runs (all but the last two) are told apart: no two share a colour.
  std::set<std::tuple<int, int, int>> distinct;
  for (size_t k = 0; k + 2 < names.size(); ++k) distinct.insert({first[k].r, first[k].g, first[k].b});
  CHECK(distinct.size() == names.size() - 2);
  // An unknown name never takes a colour of the study's runs.
  for (const char* other : {"teacher mine", "student + custom", "x", "persistence2"}) {
    const Rgb c = run_color(other);
    CHECK(distinct.count({c.r, c.g, c.b}) == 0);
  }
  // The truth is black: the reference every plot draws in the same ink.
  CHECK(run_color("truth") == Rgb{0, 0, 0});
}

TEST_CASE("palette: hex spelling", "[palette]") {
  for (const Rgb c : {Rgb{0, 0, 0}, Rgb{255, 255, 255}, Rgb{31, 119, 180}, Rgb{10, 200, 9}}) {
    const std::string h = hex_color(c);
    REQUIRE(h.size() == 7);
    CHECK(h[0] == '#');
    // Parsed back digit by digit.
    auto byte = [&](size_t at) { return std::stoi(h.substr(at, 2), nullptr, 16); };
    CHECK(byte(1) == c.r);
    CHECK(byte(3) == c.g);
    CHECK(byte(5) == c.b);
    for (char ch : h.substr(1)) CHECK(((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')));
  }
}
