#pragma once
// safetensors files, byte-compatible with the Hugging Face format so PyTorch can read our
// checkpoints and we can read theirs:
//   8 bytes  little-endian u64 N (header length)
//   N bytes  JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                   "__metadata__": {"key": "value", ...}}, padded with spaces to a multiple of 8
//   rest     the byte buffer; offsets are relative to its start; tensors cover it exactly,
//            without gaps or overlap, in little-endian C order.
// Raw bytes only; the caller wraps them in Tensors. Errors name the file and the tensor.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sdkd {

// The nesting limit of every JSON text sdkd reads: safetensors headers here, checkpoint
// metadata and presets above (models/config_json.hpp). Our own files nest at most 4 levels.
// A parsed value is copied, compared and printed by recursion, one call per level, so a
// hostile file 100k levels deep would overflow the stack long after it was parsed; the bytes
// are therefore scanned for bracket depth before any parse (strings skipped, escapes honoured).
constexpr int kMaxJsonDepth = 64;

// Throws sdkd::Error naming `where` if `text` nests arrays/objects deeper than max_depth.
// Only the depth is checked: malformed JSON is left to the parser.
void check_json_depth(std::string_view text, const std::string& where, int max_depth = kMaxJsonDepth);

// dtype is the format's name: "F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U64",
// "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2".
struct StTensor {
  std::string dtype;
  std::vector<int64_t> shape;  // empty for a scalar
  std::vector<uint8_t> bytes;  // numel * itemsize bytes
};

struct StFile {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Bytes per element of a safetensors dtype; throws sdkd::Error for an unknown name.
int64_t safetensors_itemsize(const std::string& dtype);

// Writes atomically. Tensors are laid out largest element size first, then by name, as the
// reference writer does, so each tensor starts at a multiple of its element size.
void save_safetensors(const std::string& path, const std::map<std::string, StTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates the whole file (header length vs file size, JSON nesting depth and
// syntax, numbers in range, dtypes, shapes, offsets in bounds and consistent with
// shape * itemsize, no gaps or overlaps).
StFile load_safetensors(const std::string& path);

}  // namespace sdkd
