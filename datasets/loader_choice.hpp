#pragma once
// Which loader a SequenceDataset uses for a data file (DatasetOptions::loader): the whole array
// in RAM, or streamed from the file batch by batch. "auto" streams when the decoded float32
// array would take more than half of the memory the kernel says is available, leaving room
// for the model, the batches and the page cache that streaming itself reads through.
#include <cstdint>
#include <string>

namespace sdkd::data {

struct LoaderChoice {
  bool stream = false;
  std::string why;  // "--loader auto: 1.2 GiB of float32 values, under half of the 22.7 GiB available"
};

// `loader` is "auto", "ram" or "stream" (anything else: one sdkd::Error naming --loader and the
// choices); `bytes` the decoded array's size; `available` MemAvailable in bytes (< 0: unknown,
// then auto loads into RAM, as before streaming existed).
LoaderChoice choose_loader(const std::string& loader, int64_t bytes, int64_t available);

// MemAvailable of /proc/meminfo in bytes, or -1 where it cannot be read.
int64_t mem_available_bytes();

// "1.2 GiB", "640.0 MiB", "12.0 KiB": sizes in the loader's messages.
std::string bytes_text(int64_t bytes);

}  // namespace sdkd::data
