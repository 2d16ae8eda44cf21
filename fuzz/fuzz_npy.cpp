// libFuzzer target: the engine's .npy reader (header parser, whole-array and row reads).
#include "fuzz_input.hpp"
#include "sdkd/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sdkd::fuzz::run_on_file(data, size, [](const std::string& path) {
    const sdkd::NpyHeader h = sdkd::read_npy_header(path);
    if (h.data_bytes() > (int64_t(1) << 24)) return;  // a valid header of a large array: enough
    const sdkd::NpyArray a = sdkd::read_npy(path);
    if (!h.shape.empty() && h.shape[0] > 0) sdkd::read_npy_rows(path, h.shape[0] - 1, 1);
    (void)a;
  });
}
