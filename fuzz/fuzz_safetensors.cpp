// libFuzzer target: the safetensors reader (header length, JSON header, dtypes, shapes,
// offsets, metadata).
#include "fuzz_input.hpp"
#include "sdkd/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sdkd::fuzz::run_on_file(data, size, [](const std::string& path) { sdkd::load_safetensors(path); });
}
