#pragma once
// One colour per run, the same in every figure of a study (panels, lead time, spectrum,
// training curves): the colour is a function of the run's name only, never of the order in
// which a plot happens to list its series.
#include <cstdint>
#include <string>

#include "report/figures.hpp"  // Rgb

namespace sdkd::report {

// The name a run carries in every figure and legend:
//   role "teacher"  -> "teacher <model>"   (e.g. "teacher simvp")
//   role "student"  -> "student alone" for kd "none", else "student + <kd>" ("student + sdkd")
//   anything else   -> <model>             ("persistence")
std::string run_name(const std::string& role, const std::string& model, const std::string& kd);

// The run's colour. Fixed entries (kRunColors in palette.cpp): "truth" black, "persistence"
// grey, "student alone" blue, "student + sdkd" red, "+ output" green, "+ feature" orange,
// "+ ab" purple, "teacher simvp" brown, "teacher alternet" pink. Any other name gets a colour
// of a second table chosen by a hash of the name (FNV-1a), so it too is stable across plots and
// runs; two unknown names may share one.
Rgb run_color(const std::string& name);

// "#rrggbb" (lower case), as SVG wants it.
std::string hex_color(Rgb c);

}  // namespace sdkd::report
