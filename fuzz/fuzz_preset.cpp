// libFuzzer target: a preset file as `sdkd --preset FILE` reads it: the size and nesting limits
// of the JSON reader, then check_preset's layout, type and range checks of every section.
#include "fuzz_input.hpp"
#include "sdkd/models/config_json.hpp"
#include "tools/pipeline/presets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sdkd::fuzz::run_on_file(data, size, [](const std::string& path) {
    sdkd::tools::check_preset(sdkd::models::read_json_file(path), path);
  });
}
