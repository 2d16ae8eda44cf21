#include "sdkd/datasets/loader_choice.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "sdkd/error.hpp"

namespace sdkd::data {

std::string bytes_text(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

LoaderChoice choose_loader(const std::string& loader, int64_t bytes, int64_t available) {
  if (loader == "ram") return {false, "--loader ram"};
  if (loader == "stream") return {true, "--loader stream"};
  SDKD_CHECK(loader == "auto" || loader.empty(), "--loader / data.loader must be one of auto, ram, stream, got '", loader,
             "'");
  if (available < 0) return {false, "--loader auto: MemAvailable unknown (no /proc/meminfo), loaded into RAM"};
  const bool stream = bytes > available / 2;
  return {stream, str_cat("--loader auto: ", bytes_text(bytes), " of float32 values, ", stream ? "over" : "under",
                          " half of the ", bytes_text(available), " available")};
}

int64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream ss(line.substr(13));
    int64_t kib = -1;
    std::string unit;
    if (ss >> kib >> unit && unit == "kB" && kib >= 0) return kib * 1024;
    return -1;
  }
  return -1;
}

}  // namespace sdkd::data
