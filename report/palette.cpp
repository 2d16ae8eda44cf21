#include "report/palette.hpp"

#include <cstdio>
#include <utility>

namespace sdkd::report {

namespace {

// The study's runs. Student methods take the first colours of matplotlib's "tab10" (distinct
// for the usual colour-vision deficiencies in pairs that matter here: alone blue vs sdkd red);
// the truth is black and the baseline grey so that they read as references, not as models.
constexpr std::pair<const char*, Rgb> kRunColors[] = {
    {"truth", {0, 0, 0}},
    {"persistence", {127, 127, 127}},
    {"student alone", {31, 119, 180}},
    {"student + sdkd", {214, 39, 40}},
    {"student + output", {44, 160, 44}},
    {"student + feature", {255, 127, 14}},
    {"student + ab", {148, 103, 189}},
    {"teacher simvp", {140, 86, 75}},
    {"teacher alternet", {227, 119, 194}},
};

// For names outside the table: none of these repeats a colour above.
constexpr Rgb kOtherColors[] = {{23, 190, 207}, {188, 189, 34}, {57, 59, 121}, {99, 121, 57},
                                {140, 109, 49}, {132, 60, 57},  {123, 65, 115}, {49, 130, 189}};

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

std::string run_name(const std::string& role, const std::string& model, const std::string& kd) {
  if (role == "teacher") return "teacher " + model;
  if (role == "student") return kd == "none" ? "student alone" : "student + " + kd;
  return model;
}

Rgb run_color(const std::string& name) {
  for (const auto& [known, color] : kRunColors)
    if (name == known) return color;
  return kOtherColors[fnv1a(name) % (sizeof kOtherColors / sizeof kOtherColors[0])];
}

std::string hex_color(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

}  // namespace sdkd::report
