#pragma once
// Element types and devices. float32 is the working type; float64 exists on the CPU so that
// gradient checks by finite differences are meaningful; int32 carries indices.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sdkd {

// int32 holds indices and tables (spectral band maps, labels): it is created, copied, moved
// between devices and converted, but the arithmetic ops take floating tensors only.
enum class DType : uint8_t { f32, f64, i32 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
  }
  return 0;
}
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
  }
  return "unknown";
}
inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda" or "cuda:N"; throws sdkd::Error naming the text otherwise.
Device parse_device(const std::string& text);

// The caching allocator's counters for one device (bytes). `allocated` is what live tensors
// hold, `reserved` what the allocator holds from the driver (allocated + cached free blocks);
// `driver_allocs` counts cudaMalloc calls, so a steady training step shows it not moving.
struct CudaMemoryStats {
  int64_t allocated = 0, peak_allocated = 0, reserved = 0, peak_reserved = 0;
  int64_t driver_allocs = 0, driver_frees = 0;
};

// Which GEMM the CUDA backend runs (sdkd/device.hpp chooses it for the engine's ops).
enum class GemmBackend : uint8_t { simt, tf32, cublas };

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

}  // namespace sdkd
