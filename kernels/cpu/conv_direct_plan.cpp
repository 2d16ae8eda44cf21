#include "kernels/cpu/conv_direct_plan.hpp"

#include <algorithm>
#include <limits>

namespace sdkd::cpu {
namespace {

int64_t whole_vectors(int64_t n, int64_t lanes) { return (n + lanes - 1) / lanes * lanes; }

int64_t floor_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// One axis of backward-data: output index rho + step * i receives tap k (of `taps`) from
// source index i + shift[k] when (rho + pad - k * dil) is a multiple of the step.
struct AxisClass {
  int64_t rho = 0, count = 0;  // count: output indices in the class
  std::vector<int64_t> tap, shift;
};

std::vector<AxisClass> axis_classes(int64_t size, int64_t taps, int64_t step, int64_t pad, int64_t dil) {
  std::vector<AxisClass> out(static_cast<size_t>(step));
  for (int64_t rho = 0; rho < step; ++rho) {
    AxisClass& c = out[size_t(rho)];
    c.rho = rho;
    c.count = rho < size ? (size - rho + step - 1) / step : 0;
    for (int64_t k = 0; k < taps; ++k) {
      const int64_t x = rho + pad - k * dil;
      if (floor_mod(x, step) != 0) continue;
      c.tap.push_back(k);
      c.shift.push_back(x / step);  // exact
    }
  }
  return out;
}

// The smallest shift of any class that has outputs, and the rows (columns) of padded source
// the classes read from it on: the last output's largest shift, plus `tail` readable extra.
struct AxisExtent {
  int64_t offset = 0, length = 1;
};
AxisExtent axis_extent(const std::vector<AxisClass>& classes, int64_t lanes) {
  int64_t lo = std::numeric_limits<int64_t>::max();
  for (const AxisClass& c : classes)
    if (c.count > 0)
      for (int64_t s : c.shift) lo = std::min(lo, s);
  AxisExtent e;
  if (lo == std::numeric_limits<int64_t>::max()) return e;  // no tap reaches any output
  e.offset = lo;
  for (const AxisClass& c : classes)
    if (c.count > 0)
      for (int64_t s : c.shift) e.length = std::max(e.length, whole_vectors(c.count, lanes) + s - lo);
  return e;
}

}  // namespace

int64_t DirectPlan::taps_total() const {
  int64_t n = 0;
  for (const DirectPass& ps : passes) n += int64_t(ps.taps.size());
  return n;
}

DirectPlan plan_forward(const kern::ConvProblem& p, int64_t lanes, int64_t band_rows) {
  DirectPlan d;
  d.src_channels = p.img_group(), d.out_channels = p.col_group();
  d.out_H = p.Ho, d.out_W = p.Wo;
  d.weight_channel_stride = p.k_group();
  d.band_rows = band_rows > 0 ? std::min(band_rows, p.Ho) : p.Ho;
  d.band_source_step = p.stride_h;
  PaddedLayout& pad = d.pad;
  pad.src_H = p.H, pad.src_W = p.W, pad.off_h = -p.pad_h, pad.off_w = -p.pad_w;
  pad.phases = p.stride_w;
  pad.lane_len = whole_vectors(whole_vectors(p.Wo, lanes) + (p.kW - 1) * p.dil_w / p.stride_w, lanes);
  pad.rows = (d.band_rows - 1) * p.stride_h + (p.kH - 1) * p.dil_h + 1;

  DirectPass ps;
  ps.out_H = d.band_rows, ps.out_W = p.Wo, ps.row_step = p.stride_h;
  // Output column ow, tap kj reads padded column ow * sw + kj * dw: phase (kj * dw) % sw,
  // lane ow + (kj * dw) / sw. Taps are listed in weight order, so tap t is weight t.
  for (int64_t ci = 0; ci < d.src_channels; ++ci)
    for (int64_t ki = 0; ki < p.kH; ++ki)
      for (int64_t kj = 0; kj < p.kW; ++kj) {
        const int64_t col = kj * p.dil_w;
        ps.taps.push_back({ci * pad.channel_pitch() + ki * p.dil_h * pad.row_pitch() +
                               (col % p.stride_w) * pad.lane_len + col / p.stride_w,
                           (ci * p.kH + ki) * p.kW + kj});
      }
  d.passes.push_back(std::move(ps));
  return d;
}

DirectPlan plan_backward_data(const kern::ConvProblem& p, int64_t lanes) {
  DirectPlan d;
  d.src_channels = p.col_group(), d.out_channels = p.img_group();
  d.out_H = p.H, d.out_W = p.W;
  d.band_rows = p.H;
  d.weight_channel_stride = p.kH * p.kW;
  const std::vector<AxisClass> rows = axis_classes(p.H, p.kH, p.stride_h, p.pad_h, p.dil_h);
  const std::vector<AxisClass> cols = axis_classes(p.W, p.kW, p.stride_w, p.pad_w, p.dil_w);
  const AxisExtent er = axis_extent(rows, 1), ec = axis_extent(cols, lanes);
  PaddedLayout& pad = d.pad;
  pad.src_H = p.Ho, pad.src_W = p.Wo, pad.off_h = er.offset, pad.off_w = ec.offset;
  pad.rows = er.length, pad.phases = 1, pad.lane_len = whole_vectors(ec.length, lanes);

  for (const AxisClass& r : rows)
    for (const AxisClass& c : cols) {
      if (r.count == 0 || c.count == 0) continue;
      DirectPass ps;
      ps.out_H = r.count, ps.out_W = c.count, ps.row_step = 1;
      ps.rho_h = r.rho, ps.rho_w = c.rho, ps.step_h = p.stride_h, ps.step_w = p.stride_w;
      for (int64_t co = 0; co < d.src_channels; ++co)
        for (size_t a = 0; a < r.tap.size(); ++a)
          for (size_t b = 0; b < c.tap.size(); ++b)
            ps.taps.push_back({co * pad.channel_pitch() + (r.shift[a] - er.offset) * pad.row_pitch() +
                                   (c.shift[b] - ec.offset),
                               co * p.k_group() + r.tap[a] * p.kW + c.tap[b]});
      d.passes.push_back(std::move(ps));
    }
  return d;
}

}  // namespace sdkd::cpu
