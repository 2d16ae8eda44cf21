#pragma once
// What the direct convolution loops (conv_direct.cpp) compute, worked out once per call from
// the lowered problem (kernels/common/conv_problem.hpp): which source planes are padded and
// how, and, per pass, the grid of outputs and the list of kernel taps, each a fixed offset into
// the padded source and an index into the weight group.
//
//   forward        source = image side, output = column side, one pass; the stride is the
//                  padded buffer's row step and its width phases.
//   backward-data  source = column side, output = image side. Output pixels fall into
//                  stride_h x stride_w residue classes; each class is one stride-1 pass over
//                  the taps that reach it (with stride 1: one pass, the kernel flipped), so no
//                  multiply is spent on a tap that a stride-2 placement never has.
//
// Backward-weight reads the forward plan: it pairs each tap's source vectors with the
// column-side gradient instead of accumulating outputs.
#include <cstdint>
#include <vector>

#include "kernels/common/conv_problem.hpp"
#include "kernels/cpu/conv_padded.hpp"
#include "kernels/internal.hpp"

namespace sdkd::cpu {

struct DirectTap {
  int64_t offset;  // into the padded source, relative to the output's own position
  int64_t weight;  // into the weight group, for output channel 0 of the group
};

struct DirectPass {
  int64_t out_H = 0, out_W = 0;  // the grid this pass computes
  int64_t row_step = 1;          // padded source rows per grid row
  // Grid point (i, j) is output pixel (rho_h + step_h * i, rho_w + step_w * j).
  int64_t rho_h = 0, rho_w = 0, step_h = 1, step_w = 1;
  std::vector<DirectTap> taps;

  bool dense() const { return step_h == 1 && step_w == 1; }
};

struct DirectPlan {
  PaddedLayout pad;
  int64_t src_channels = 1, out_channels = 1;  // per group
  int64_t out_H = 1, out_W = 1;                // the output planes
  int64_t weight_channel_stride = 1;           // weight = out_channel * this + tap.weight
  std::vector<DirectPass> passes;
  // A forward plan cut into bands of output rows (plan_forward's band_rows): its pass computes
  // band_rows rows, pad holds the band's source rows, and band(r) is the layout of the band
  // that starts at output row r. Unbanded: band_rows = out_H.
  int64_t band_rows = 1, band_source_step = 0;

  int64_t taps_total() const;  // over all passes
  int64_t bands() const { return (out_H + band_rows - 1) / band_rows; }
  PaddedLayout band(int64_t first_row) const {
    PaddedLayout b = pad;
    b.off_h += first_row * band_source_step;
    return b;
  }
};

// vector_lanes: the lanes of one output vector; rows are padded so a whole last vector of
// every grid row can be read. band_rows: output rows per band (0 or >= Ho: one band, the whole
// plane); the last band may be shorter (its pass's out_H is the full band's).
DirectPlan plan_forward(const kern::ConvProblem& p, int64_t vector_lanes, int64_t band_rows = 0);
DirectPlan plan_backward_data(const kern::ConvProblem& p, int64_t vector_lanes);

}  // namespace sdkd::cpu
