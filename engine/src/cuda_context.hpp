#pragma once
// The engine's side of the execution context (runtime/exec_context.hpp): every CUDA launcher
// an op calls gets the context of the device its tensors live on, built here from that device
// and the engine's settings (GEMM backend, determinism; sdkd/device.hpp). Building it makes the
// device the calling thread's current one, so a launch can never land on another device's
// stream. Only reached inside SDKD_CUDA_ONLY (dispatch.hpp): a CPU-only build never links it.
#include "runtime/exec_context.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::detail {

gpu::ExecContext cuda_context(const Device& device);
inline gpu::ExecContext cuda_context(const Tensor& t) { return cuda_context(t.device()); }

}  // namespace sdkd::detail
