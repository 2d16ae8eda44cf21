#pragma once
// Test helpers for the SVG figures: a small XML well-formedness check and readers of the
// structure svg_plot.hpp documents.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace sdkd::test {

// Checks that every element is closed in order (a tiny XML well-formedness test: tags, comments,
// the XML declaration, name="value" attributes, and no raw '<' or bare '&' in text or values).
inline bool is_entity(const std::string& s, size_t amp) {
  for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
    if (s.compare(amp, std::strlen(e), e) == 0) return true;
  return false;
}

inline bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_'; }

// `tag` is the text between '<' and '>' of a start tag: name, then name="value" pairs.
inline bool attributes_well_formed(const std::string& tag) {
  size_t i = 0;
  while (i < tag.size() && is_name_char(tag[i])) ++i;
  if (i == 0) return false;
  for (;;) {
    const size_t before = i;
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    if (i == tag.size() || (tag[i] == '/' && i + 1 == tag.size())) return true;
    if (i == before) return false;  // attributes must be separated by whitespace
    const size_t name_start = i;
    while (i < tag.size() && is_name_char(tag[i])) ++i;
    if (i == name_start || i + 1 >= tag.size() || tag[i] != '=' || tag[i + 1] != '"') return false;
    const size_t close = tag.find('"', i + 2);
    if (close == std::string::npos) return false;
    const std::string value = tag.substr(i + 2, close - i - 2);
    if (value.find('<') != std::string::npos) return false;
    for (size_t amp = value.find('&'); amp != std::string::npos; amp = value.find('&', amp + 1))
      if (!is_entity(value, amp)) return false;
    i = close + 1;
  }
}

inline void check_balanced_xml(const std::string& xml) {
  std::vector<std::string> stack;
  int roots = 0;
  for (size_t at = 0; at < xml.size();) {
    const size_t lt = xml.find('<', at);
    const std::string text = xml.substr(at, lt == std::string::npos ? std::string::npos : lt - at);
    for (size_t amp = text.find('&'); amp != std::string::npos; amp = text.find('&', amp + 1))
      CHECK(is_entity(text, amp));
    if (lt == std::string::npos) break;
    const size_t gt = xml.find('>', lt);
    REQUIRE(gt != std::string::npos);
    const std::string tag = xml.substr(lt + 1, gt - lt - 1);
    REQUIRE(tag.find('<') == std::string::npos);
    at = gt + 1;
    if (tag.rfind("?", 0) == 0 || tag.rfind("!--", 0) == 0) continue;
    if (tag[0] == '/') {
      REQUIRE(!stack.empty());
      CHECK(stack.back() == tag.substr(1));
      stack.pop_back();
      continue;
    }
    CAPTURE(tag);
    CHECK(attributes_well_formed(tag));
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (stack.empty()) ++roots;
    if (tag.back() != '/') stack.push_back(name);
  }
  CHECK(stack.empty());
  CHECK(roots == 1);
}

// The text of every element that starts with `open` (e.g. "<g class=\"panel\">") up to its
// matching close tag `close` ("</g>"), nesting of the same tag name counted.
inline std::vector<std::string> elements(const std::string& svg, const std::string& open, const std::string& name) {
  std::vector<std::string> out;
  for (size_t at = svg.find(open); at != std::string::npos; at = svg.find(open, at + 1)) {
    int depth = 0;
    size_t i = at;
    for (;;) {
      const size_t o = svg.find("<" + name, i), c = svg.find("</" + name + ">", i);
      REQUIRE(c != std::string::npos);
      if (o != std::string::npos && o < c) {
        // A self-closing element of that name does not nest.
        const size_t gt = svg.find('>', o);
        if (svg[gt - 1] != '/') ++depth;
        i = gt + 1;
      } else {
        --depth;
        i = c + name.size() + 3;
        if (depth == 0) break;
      }
    }
    out.push_back(svg.substr(at, i - at));
  }
  return out;
}

inline size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The value of the first `name="..."` attribute in `text` ("" without one).
inline std::string attribute(const std::string& text, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t end = text.find('"', at + key.size());
  return text.substr(at + key.size(), end - at - key.size());
}

// The points of a path's d ("M x y L x y ... Z"): command letter and coordinates; Z is skipped.
struct PathPoint {
  char command;
  double x, y;
};
inline std::vector<PathPoint> path_points_of(const std::string& d) {
  std::vector<PathPoint> pts;
  size_t i = 0;
  while (i < d.size()) {
    while (i < d.size() && (d[i] == ' ' || d[i] == 'Z')) ++i;
    if (i >= d.size()) break;
    const char command = d[i++];
    REQUIRE((command == 'M' || command == 'L'));
    size_t used = 0;
    const double x = std::stod(d.substr(i), &used);
    i += used;
    const double y = std::stod(d.substr(i), &used);
    i += used;
    pts.push_back({command, x, y});
  }
  return pts;
}

}  // namespace sdkd::test
