#pragma once
// Element types and devices. float32 is the working type; float64 exists on the CPU so that
// gradient checks by finite differences are meaningful.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sdkd {

enum class DType : uint8_t { f32, f64 };

inline size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }
inline const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "float64"; }

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

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

}  // namespace sdkd
