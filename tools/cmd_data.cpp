// sdkd data info: what a data file holds before anything trains on it: every numeric array
// with its shape, dtype, the layout sdkd would read it with, and statistics streamed in
// chunks (a 400 MB FNO file is never held whole); the variables it cannot read, by name.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sdkd/datasets/array_file.hpp"
#include "sdkd/datasets/open_dataset.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/options.hpp"

namespace sdkd::tools {

namespace {

// "NHWT (default): N = 1200, T = 20 frames of 64 x 64", or the guess and why it differs.
std::string layout_line(const std::string& format, const std::vector<int64_t>& shape) {
  const std::string def = data::default_layout(format, shape.size());
  const std::string guess = data::guess_layout(format, shape);
  if (guess.empty()) return "none fits (frames need T, H and W axes)";
  if (guess == def) return str_cat(def, " (default): ", data::describe_layout(shape, def));
  if (def.empty()) return str_cat(guess, " (a guess: pass --layout; no default for this rank): ",
                                  data::describe_layout(shape, guess));
  return str_cat(guess, " (a guess: the default ", def, " would mean ", data::describe_layout(shape, def),
                 "): ", data::describe_layout(shape, guess));
}

void print_array(const data::ArrayFile& file, const data::ArrayInfo& a) {
  std::printf("%s  %s  %s\n", a.name.empty() ? "(array)" : a.name.c_str(), data::shape_text(a.shape).c_str(),
              a.dtype.c_str());
  std::printf("  layout  %s\n", layout_line(file.format(), a.shape).c_str());
  const data::ArrayStats s = data::array_stats(file, a);
  std::printf("  values  min %.6g  max %.6g  mean %.6g  std %.6g  (%lld finite, %lld NaN, %lld Inf)\n", s.min, s.max,
              s.mean, s.std, (long long)s.count, (long long)s.nan, (long long)s.inf);
}

}  // namespace

int cmd_data(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "info") != 0) {
    if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
      std::printf("usage: sdkd data info FILE [--var NAME]   (arrays, shapes, layouts and statistics of a data file)\n");
      return 0;
    }
    throw Error(str_cat("data: expected a subcommand, 'info' (got '", argc >= 2 ? argv[1] : "", "')"));
  }
  cxxopts::Options opts("sdkd data info", "Arrays of a data file (.npy, .mat v5/v7.3, .h5): shape, dtype, layout, statistics");
  opts.add_options()
    ("file", "the data file", cxxopts::value<std::string>())
    ("var", "show only this array", cxxopts::value<std::string>());
  opts.parse_positional({"file"});
  opts.positional_help("FILE");
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc - 1, argv + 1, r)) return 0;
  SDKD_CHECK(r.count("file"), "sdkd data info: FILE is required (a .npy, .mat or .h5 file)");
  const std::string path = r["file"].as<std::string>();
  const auto file = data::open_array_file(path);
  const auto arrays = file->arrays();
  const auto skipped = data::skipped_variables(*file);
  std::printf("%s: %s, %zu numeric array%s\n", path.c_str(), file->format().c_str(), arrays.size(),
              arrays.size() == 1 ? "" : "s");
  if (r.count("var")) {
    print_array(*file, data::pick_array(*file, r["var"].as<std::string>()));
  } else {
    for (const auto& a : arrays) print_array(*file, a);
  }
  for (const auto& s : skipped)
    std::printf("not read: %s: %s\n", s.name.empty() ? "(array)" : s.name.c_str(), s.what.c_str());
  return 0;
}

}  // namespace sdkd::tools
