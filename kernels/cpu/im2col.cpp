// im2col / col2im for one image and one band of placement rows. Rows of the column matrix are
// independent (and each image channel only talks to its own rows), so both run in parallel
// over channels when the caller is not already parallel (a batch loop usually is).
#include "kernels/cpu/im2col.hpp"
#include "kernels/cpu/parallel_policy.hpp"

#include <omp.h>

#include <algorithm>

namespace sdkd::cpu {
namespace {

bool run_parallel(const ConvProblem& g, int64_t band_cols) {
  return g.img_group() > 1 && g.k_group() * band_cols >= (int64_t(1) << 18) &&
         threads_pay_bytes(8.0 * double(g.k_group() * band_cols));
}

// Placement rows of the band [oh_begin, oh_end) that read inside the image for tap row ki.
PlacementRange band_rows(const ConvProblem& g, int64_t ki, int64_t oh_begin, int64_t oh_end) {
  const PlacementRange all = valid_placements(ki * g.dil_h - g.pad_h, g.stride_h, g.H, g.Ho);
  const int64_t lo = std::clamp(all.lo, oh_begin, oh_end);
  return {lo, std::clamp(all.hi, lo, oh_end)};
}

}  // namespace

template <class T>
void im2col(const ConvProblem& g, const T* img, T* col, int64_t oh_begin, int64_t oh_end) {
  const int64_t band = (oh_end - oh_begin) * g.Wo, channels = g.img_group();
#pragma omp parallel for schedule(static) if (run_parallel(g, band))
  for (int64_t c = 0; c < channels; ++c) {
    const T* plane = img + c * g.H * g.W;
    for (int64_t ki = 0; ki < g.kH; ++ki) {
      const PlacementRange rows = band_rows(g, ki, oh_begin, oh_end);
      for (int64_t kj = 0; kj < g.kW; ++kj) {
        T* dst = col + ((c * g.kH + ki) * g.kW + kj) * band;  // placement oh at (oh - oh_begin)*Wo
        const int64_t off_w = kj * g.dil_w - g.pad_w;
        const PlacementRange cols = valid_placements(off_w, g.stride_w, g.W, g.Wo);
        std::fill(dst, dst + (rows.lo - oh_begin) * g.Wo, T(0));
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          T* d = dst + (oh - oh_begin) * g.Wo;
          const T* src = plane + (oh * g.stride_h + ki * g.dil_h - g.pad_h) * g.W;
          std::fill(d, d + cols.lo, T(0));
          if (g.stride_w == 1) {
            std::copy(src + cols.lo + off_w, src + cols.hi + off_w, d + cols.lo);
          } else {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) d[ow] = src[ow * g.stride_w + off_w];
          }
          std::fill(d + cols.hi, d + g.Wo, T(0));
        }
        std::fill(dst + (rows.hi - oh_begin) * g.Wo, dst + band, T(0));
      }
    }
  }
}

template <class T>
void col2im_add(const ConvProblem& g, const T* col, T* img, int64_t oh_begin, int64_t oh_end) {
  const int64_t band = (oh_end - oh_begin) * g.Wo, channels = g.img_group();
#pragma omp parallel for schedule(static) if (run_parallel(g, band))
  for (int64_t c = 0; c < channels; ++c) {
    T* plane = img + c * g.H * g.W;
    for (int64_t ki = 0; ki < g.kH; ++ki) {
      const PlacementRange rows = band_rows(g, ki, oh_begin, oh_end);
      for (int64_t kj = 0; kj < g.kW; ++kj) {
        const T* src = col + ((c * g.kH + ki) * g.kW + kj) * band;
        const int64_t off_w = kj * g.dil_w - g.pad_w;
        const PlacementRange cols = valid_placements(off_w, g.stride_w, g.W, g.Wo);
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          const T* s = src + (oh - oh_begin) * g.Wo;
          T* d = plane + (oh * g.stride_h + ki * g.dil_h - g.pad_h) * g.W;
          if (g.stride_w == 1) {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) d[ow + off_w] += s[ow];
          } else {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) d[ow * g.stride_w + off_w] += s[ow];
          }
        }
      }
    }
  }
}

template void im2col<float>(const ConvProblem&, const float*, float*, int64_t, int64_t);
template void im2col<double>(const ConvProblem&, const double*, double*, int64_t, int64_t);
template void col2im_add<float>(const ConvProblem&, const float*, float*, int64_t, int64_t);
template void col2im_add<double>(const ConvProblem&, const double*, double*, int64_t, int64_t);

}  // namespace sdkd::cpu
