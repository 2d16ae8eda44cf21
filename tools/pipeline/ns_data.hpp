#pragma once
// The Navier-Stokes data file of a run: generated once, reused while its parameters match.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/pipeline/forward.hpp"

namespace sdkd::tools {

// Generates the Navier-Stokes data of cfg into path (.npy + .json side file) unless an
// identical file (same parameters in the side file) is already there. Solves on
// compute_device() (pipeline/runtime.hpp) in batches of `batch` trajectories (0: automatic,
// data::ns_batch_size), each finished batch written to path + ".partial" (pipeline/ns_partial.hpp):
// a rerun with the same parameters and device resumes after the last complete batch, other
// parameters start over (saying so), and path itself appears, by a rename, only when complete.
void ensure_ns_data(const data::NSConfig& cfg, const std::string& path, bool quiet, int64_t batch = 0);
// The parameters of cfg as written to (and compared with) the side file.
nlohmann::json ns_config_json(const data::NSConfig& cfg);

}  // namespace sdkd::tools
