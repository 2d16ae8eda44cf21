#include "sdkd/checkpoint.hpp"

#include <cstring>

#include "dispatch.hpp"
#include "sdkd/safetensors.hpp"

namespace sdkd {

namespace {
constexpr const char* kOptimPrefix = "optim.";

StTensor to_st(const Tensor& t) {
  const Tensor c = t.detach().to(Device{}).contiguous();  // files hold host bytes
  StTensor s;
  s.dtype = t.dtype() == DType::f32 ? "F32" : "F64";
  s.shape = t.shape();
  s.bytes.resize(size_t(c.numel()) * dtype_size(c.dtype()));
  if (!s.bytes.empty()) SDKD_DISPATCH(c.dtype(), T, std::memcpy(s.bytes.data(), c.data<T>(), s.bytes.size()));
  return s;
}

Tensor from_st(const std::string& path, const std::string& name, const StTensor& s) {
  SDKD_CHECK(s.dtype == "F32" || s.dtype == "F64", path, ": tensor '", name, "' has dtype ", s.dtype,
             ", expected F32 or F64");
  Tensor t = make_tensor(s.shape, s.dtype == "F32" ? DType::f32 : DType::f64);
  if (!s.bytes.empty()) SDKD_DISPATCH(t.dtype(), T, std::memcpy(t.data<T>(), s.bytes.data(), s.bytes.size()));
  return t;
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

}  // namespace sdkd
