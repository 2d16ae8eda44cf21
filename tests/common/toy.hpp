#pragma once
// The toy data and models the tests build, one copy each (Catch2-free, so that
// bench/reference/crosscheck_dump.cpp shares the model configs too):
// - toy_config: a small model config of any kind with every width at its toy size, and
//   toy_unet_config, the 2 -> 2 frame 8x8 U-Net that the training tests run;
// - noise_flow and kToyWindows: a SequenceDataset of standard normal 8x8 frames, cut into the
//   2 -> 2 frame windows that toy_unet_config reads;
// - tiny_ns_config: a Navier-Stokes data set of two 16^2 frames solved at 32^2;
// - TempDir: a fresh per-process directory under the system temp folder, removed afterwards,
//   and write_bytes / read_bytes for the files the tests put there.
// The numeric helpers (seeded tensors, finite differences, relative errors) are in
// tests/common/numeric.hpp; the Catch2 ones in tests/common/fixtures.hpp.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "sdkd/datasets/navier_stokes.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/tensor.hpp"

namespace sdkd::test {

// ---------------------------------------------------------------- models

// The frames a toy model maps: in_frames -> out_frames frames of channels x height x width.
struct ToyFrames {
  int64_t in_frames, out_frames, height, width, channels = 1;
};

// A small `name` model on `f`, every width at its toy size: students hidden 4 and 2 blocks,
// teachers hid_S 4, hid_T 8, N_S 3, N_T 2 and 2 heads, MLP ratio 2. Each model reads only its
// own fields, so one config serves every kind; a test changes the field it studies.
inline models::ModelConfig toy_config(const std::string& name, const ToyFrames& f) {
  return {.name = name, .in_frames = f.in_frames, .out_frames = f.out_frames, .channels = f.channels,
          .height = f.height, .width = f.width, .hidden = 4, .hid_S = 4, .hid_T = 8, .N_S = 3, .N_T = 2,
          .heads = 2, .blocks = 2, .mlp_ratio = 2};
}

// The U-Net the training tests run: 2 -> 2 frames of 8x8 (the windows of kToyWindows).
inline models::ModelConfig toy_unet_config() { return toy_config("unet", {2, 2, 8, 8}); }

// make_model(cfg) initialised from Generator(seed).
inline std::shared_ptr<models::Forecaster> toy_model(const models::ModelConfig& cfg, uint64_t seed) {
  Generator g(seed);
  return models::make_model(cfg, g);
}

// ---------------------------------------------------------------- data

// Windows of 2 input and 2 output frames, a new one every 2 frames: what toy_unet_config reads.
inline const data::WindowSpec kToyWindows{2, 2, 2};

// `n` trajectories of `frames` frames of standard normal 8x8 noise (one channel) drawn from
// Generator(seed), cut into kToyWindows.
inline data::SequenceDataset noise_flow(int64_t n, int64_t frames, uint64_t seed, const std::string& name) {
  Generator g(seed);
  return data::SequenceDataset(Tensor::randn({n, frames, 1, 8, 8}, g), kToyWindows, name);
}

// A tiny Navier-Stokes data set: `trajectories` of 2 frames on a 16^2 grid (every other point
// of the 32^2 solver grid), steps of `dt`, frames `frame_interval` apart; the rest as NSConfig{}.
inline data::NSConfig tiny_ns_config(int64_t trajectories, double dt, double frame_interval) {
  return {.trajectories = trajectories, .frames = 2, .resolution = 16, .solve_resolution = 32, .dt = dt,
          .frame_interval = frame_interval};
}

// ---------------------------------------------------------------- files

// A fresh, empty directory sdkd_<tag>_<pid> under the system temp folder (whatever an earlier
// run left there is removed first), removed with everything in it by the destructor.
struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& tag)
      : dir(std::filesystem::temp_directory_path() / ("sdkd_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of `name` inside the directory.
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
  std::string str() const { return dir.string(); }
  // The names of the entries, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  size_t count() const { return listing().size(); }
};

// Writes `bytes` to `path` as they are (replacing the file).
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The whole file at `path`, byte for byte ("" when it cannot be read).
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace sdkd::test
