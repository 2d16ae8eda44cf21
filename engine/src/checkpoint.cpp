#include "sdkd/checkpoint.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "dispatch.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/safetensors.hpp"

namespace sdkd {

namespace {
constexpr const char* kOptimPrefix = "optim.";

// Our dtypes under their safetensors names.
const char* st_name(DType d) {
  switch (d) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
  }
  return "";
}

StTensor to_st(const Tensor& t) {
  const Tensor c = t.detach().to(Device{}).contiguous();  // files hold host bytes
  StTensor s;
  s.dtype = st_name(t.dtype());
  s.shape = t.shape();
  s.bytes.resize(size_t(c.numel()) * dtype_size(c.dtype()));
  if (!s.bytes.empty()) SDKD_DISPATCH_ALL(c.dtype(), T, std::memcpy(s.bytes.data(), c.data<T>(), s.bytes.size()));
  return s;
}

Tensor from_st(const std::string& path, const std::string& name, const StTensor& s) {
  const DType dtypes[] = {DType::f32, DType::f64, DType::i32};
  for (DType d : dtypes) {
    if (s.dtype != st_name(d)) continue;
    Tensor t = make_tensor(s.shape, d);
    if (!s.bytes.empty()) SDKD_DISPATCH_ALL(t.dtype(), T, std::memcpy(t.data<T>(), s.bytes.data(), s.bytes.size()));
    return t;
  }
  throw Error(str_cat(path, ": tensor '", name, "' has dtype ", s.dtype, ", expected F32, F64 or I32"));
}
}  // namespace

void save_tensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  std::map<std::string, StTensor> st;
  for (const auto& [n, t] : tensors) st[n] = to_st(t);
  save_safetensors(path, st, metadata);
}

TensorMap load_tensors(const std::string& path, Metadata* metadata) {
  StFile f = load_safetensors(path);
  TensorMap out;
  for (const auto& [n, s] : f.tensors) out[n] = from_st(path, n, s);
  if (metadata) *metadata = f.metadata;
  return out;
}

bool all_finite(const Tensor& t) {
  if (!is_floating(t.dtype()) || t.numel() == 0) return true;
  NoGradGuard ng;
  // x * 0 is 0 for every finite x and NaN for NaN and +-inf, so one reduction answers on any
  // device, with no host copy of the tensor and no overflow of a sum of large values.
  return std::isfinite(sum(mul_scalar(t, 0.0)).item());
}

std::string first_non_finite(const TensorMap& tensors) {
  for (const auto& [name, t] : tensors)
    if (!all_finite(t)) return name;
  return "";
}

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Adam* optimizer,
                     const Metadata& metadata) {
  TensorMap all = model.state_dict();
  if (optimizer)
    for (const auto& [n, t] : optimizer->state_dict()) all[kOptimPrefix + n] = t;
  save_tensors(path, all, metadata);
}

Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Adam* optimizer) {
  Metadata meta;
  TensorMap all = load_tensors(path, &meta);
  TensorMap model_part, optim_part;
  for (auto& [n, t] : all) {
    if (n.rfind(kOptimPrefix, 0) == 0) optim_part[n.substr(std::strlen(kOptimPrefix))] = t;
    else model_part[n] = t;
  }
  try {
    model.load_state_dict(model_part, /*strict=*/true);
    if (optimizer) optimizer->load_state_dict(optim_part);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return meta;
}

namespace {
// The number that is the whole of text, parsed without exceptions or locale.
template <class T>
T metadata_parse(const Metadata& meta, const std::string& key, const std::string& path, const char* what) {
  const std::string& text = metadata_value(meta, key, path);
  T value{};
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  SDKD_CHECK(err == std::errc() && end == text.data() + text.size(), path, ": metadata '", key, "' must be ", what,
             ", got '", text.substr(0, 40), "'");
  return value;
}
}  // namespace

const std::string& metadata_value(const Metadata& meta, const std::string& key, const std::string& path) {
  const auto it = meta.find(key);
  SDKD_CHECK(it != meta.end(), path, ": no '", key, "' entry in the metadata (not written by this sdkd?)");
  return it->second;
}

int64_t metadata_int(const Metadata& meta, const std::string& key, const std::string& path) {
  return metadata_parse<int64_t>(meta, key, path, "an integer");
}

double metadata_number(const Metadata& meta, const std::string& key, const std::string& path) {
  return metadata_parse<double>(meta, key, path, "a number");
}

}  // namespace sdkd
