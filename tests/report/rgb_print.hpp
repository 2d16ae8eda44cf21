#pragma once
// How Catch2 prints a colour in a failed check: "(r,g,b)". One definition for every test file
// of this binary (a specialisation must be the same in all of them).
#include <catch2/catch.hpp>

#include <string>

#include "report/figures.hpp"

namespace Catch {
template <> struct StringMaker<sdkd::report::Rgb> {
  static std::string convert(const sdkd::report::Rgb& c) {
    // Appended piece by piece: "(" + std::to_string(...) trips GCC 12's false -Wrestrict.
    std::string s = "(";
    s += std::to_string(c.r);
    s += ',';
    s += std::to_string(c.g);
    s += ',';
    s += std::to_string(c.b);
    s += ')';
    return s;
  }
};
}  // namespace Catch
