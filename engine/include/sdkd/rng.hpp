#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). A value depends only on
// (seed, stream, index), never on how many threads or which device produced it: element i of
// a tensor drawn at generator offset o is philox(seed, o + i), so parallel loops and the CUDA
// twin give the same numbers as a serial loop.
#include <array>
#include <cmath>
#include <cstdint>

// The same functions compile for the GPU (SDKD_HD), so both backends draw from literally the
// same code.
#include "sdkd/host_device.hpp"

namespace sdkd {

struct Philox {
  static constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  static constexpr uint32_t kKey0 = 0x9E3779B9u, kKey1 = 0xBB67AE85u;

  // 4 x 32 random bits for counter (c0..c3) and key (k0, k1).
  static std::array<uint32_t, 4> block(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
    std::array<uint32_t, 4> out{};
    block_into(counter_lo, counter_hi, key, out.data());
    return out;
  }

  SDKD_HD static void block_into(uint64_t counter_lo, uint64_t counter_hi, uint64_t key, uint32_t out[4]) {
    uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
    uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
    uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t(kMul0) * c0, p1 = uint64_t(kMul1) * c2;
      const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
      const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
      const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
      c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
      k0 += kKey0; k1 += kKey1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
  }

  // Uniform in (0, 1], 24 bits of mantissa (never 0, so log() is safe).
  SDKD_HD static double to_unit(uint32_t bits) { return (double(bits >> 8) + 1.0) * (1.0 / 16777216.0); }

  // Standard normal number i of the sequence (seed, stream): Box-Muller on one Philox block,
  // so draws i = 2j and 2j+1 share the block j.
  SDKD_HD static double normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t b[4];
    block_into(index >> 1, stream, seed, b);
    const double u1 = to_unit(b[0]), u2 = to_unit(b[1]);
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double th = 6.283185307179586 * u2;
    return (index & 1) ? r * std::sin(th) : r * std::cos(th);
  }

  // Uniform in (0, 1] number i of the sequence (seed, stream).
  SDKD_HD static double uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t b[4];
    block_into(index >> 2, stream, seed, b);
    return to_unit(b[index & 3]);
  }
};

// A generator is a seed plus a running offset; each draw of n numbers reserves offsets
// [offset, offset + n) so consecutive draws never overlap. Saved in checkpoints for resume.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  explicit Generator(uint64_t s = 0) : seed(s) {}
  uint64_t reserve(uint64_t n) {
    const uint64_t start = offset;
    offset += (n + 3) & ~uint64_t(3);
    return start;
  }
};

}  // namespace sdkd
