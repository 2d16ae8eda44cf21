// Convolutions on the models' shapes: forward, backward-data (dgrad), backward-weight (wgrad)
// and the U-Net/decoder ConvTranspose k4 s2 p1.
//
// dgrad and wgrad are timed as the backward pass of one conv2d whose forward was built before
// the repeat (untimed): with only x requiring grad the engine's backward runs only the data
// gradient, with only the weight requiring grad only the weight gradient. This measures the
// kernels exactly as training calls them (conv_transpose2d would give dgrad too, but not wgrad).
// No bias: the bias gradient is a separate reduction, and the U-Net's convs feed BatchNorm.
//
// CPU rows are validated against a direct double-precision loop (ConvLoop below): forward and
// dgrad on the first and last sample of the timed call; wgrad (a sum over the whole batch) on
// the same kernel called with those two samples. GPU rows against the CPU op on the same inputs.
// Yardstick on the GPU: cuDNN with the fastest algorithm cudnnFind* reports, FMA-only math
// (full fp32, as our default SIMT GEMM path).
#include <cmath>
#include <memory>
#include <vector>

#include "bench/kernel_bench/harness.hpp"
#include "bench/kernel_bench/vendor.hpp"
#include "sdkd/ops.hpp"

namespace sdkd::bench {

namespace {

// Products of up to C_in/groups * k * k = 576 terms summed in fp32, against double: 1e-4 of the
// largest output leaves a wide margin over fp32 rounding; wgrad sums N * H_out * W_out terms
// (up to 409600 on the GPU rows), hence its looser bound.
constexpr double kTolFwd = 1e-4, kTolDgrad = 1e-4, kTolWgrad = 5e-4;

enum class Dir { fwd, dgrad, wgrad, transpose };

struct Geometry {
  int64_t N, C_in, H, W, C_out, Ho, Wo;
  int k, stride, pad, dil, groups;
};

Geometry conv_geometry(const shapes::Conv& s) {
  const int64_t Ho = (s.H + 2 * s.pad - s.dil * (s.k - 1) - 1) / s.stride + 1;
  const int64_t Wo = (s.W + 2 * s.pad - s.dil * (s.k - 1) - 1) / s.stride + 1;
  return {s.N, s.C_in, s.H, s.W, s.C_out, Ho, Wo, s.k, s.stride, s.pad, s.dil, s.groups};
}

// The direct loop over every (sample in `samples`, output channel, output pixel, input channel
// of its group, tap) with the input pixel inside the image: f(x index, w index, y index).
// conv2d's forward, data gradient and weight gradient are the same loop with f accumulating
// into y, x and w respectively.
template <class F>
void conv_loop(const Geometry& g, const std::vector<int64_t>& samples, F f) {
  const int64_t cin_g = g.C_in / g.groups, cout_g = g.C_out / g.groups;
  for (int64_t n : samples)
    for (int64_t co = 0; co < g.C_out; ++co) {
      const int64_t grp = co / cout_g;
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const int64_t yi = ((n * g.C_out + co) * g.Ho + oh) * g.Wo + ow;
          for (int64_t cl = 0; cl < cin_g; ++cl) {
            const int64_t ci = grp * cin_g + cl;
            for (int kh = 0; kh < g.k; ++kh) {
              const int64_t ih = oh * g.stride - g.pad + kh * g.dil;
              if (ih < 0 || ih >= g.H) continue;
              for (int kw = 0; kw < g.k; ++kw) {
                const int64_t iw = ow * g.stride - g.pad + kw * g.dil;
                if (iw < 0 || iw >= g.W) continue;
                f(((n * g.C_in + ci) * g.H + ih) * g.W + iw, ((co * cin_g + cl) * g.k + kh) * g.k + kw, yi);
              }
            }
          }
        }
    }
}

std::vector<int64_t> first_and_last(int64_t N) { return N == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, N - 1}; }

// NaN everywhere except the entries of the given samples (harness::compare skips NaN).
std::vector<double> sampled(int64_t total, int64_t per_sample, const std::vector<int64_t>& samples) {
  std::vector<double> v(size_t(total), NAN);
  for (int64_t n : samples)
    for (int64_t i = 0; i < per_sample; ++i) v[size_t(n * per_sample + i)] = 0;
  return v;
}

struct State {
  Tensor x, w, g, y;
  Tensor ws;  // cuDNN workspace
  Tensor y_ref, dx_ref, dw_ref;
  std::unique_ptr<vendor::CudnnConv> dnn;
};

Conv2dOptions options(const shapes::Conv& s) { return Conv2dOptions::make(s.stride, s.pad, s.dil, s.groups); }

// The timed call's outputs for this direction (grad of the input or weight after backward).
Tensor run_dir(Dir dir, const Tensor& x, const Tensor& w, const Tensor& g, const Conv2dOptions& o) {
  if (dir == Dir::fwd) return conv2d(x, w, Tensor(), o);
  Tensor xx = x.detach(), ww = w.detach();
  (dir == Dir::dgrad ? xx : ww).set_requires_grad(true);
  conv2d(xx, ww, Tensor(), o).backward(g);
  return dir == Dir::dgrad ? xx.grad() : ww.grad();
}

Check validate_cpu(Dir dir, const shapes::Conv& s, const Tensor& x, const Tensor& w, const Tensor& g) {
  Geometry geo = conv_geometry(s);
  const Conv2dOptions o = options(s);
  const std::vector<int64_t> samples = first_and_last(s.N);
  const std::vector<float> xv = x.to_float_vector(), wv = w.to_float_vector(), gv = g.to_float_vector();
  if (dir == Dir::fwd) {
    std::vector<double> ref = sampled(s.N * s.C_out * geo.Ho * geo.Wo, s.C_out * geo.Ho * geo.Wo, samples);
    conv_loop(geo, samples, [&](int64_t xi, int64_t wi, int64_t yi) { ref[yi] += double(xv[xi]) * wv[wi]; });
    return compare(run_dir(dir, x, w, g, o).to_double_vector(), ref, kTolFwd, "y");
  }
  if (dir == Dir::dgrad) {
    std::vector<double> ref = sampled(x.numel(), s.C_in * s.H * s.W, samples);
    conv_loop(geo, samples, [&](int64_t xi, int64_t wi, int64_t yi) { ref[xi] += double(gv[yi]) * wv[wi]; });
    return compare(run_dir(dir, x, w, g, o).to_double_vector(), ref, kTolDgrad, "dx");
  }
  // wgrad: the kernel called on the two samples, against the loop over the same two.
  std::vector<Tensor> xs, gs;
  for (int64_t n : samples) xs.push_back(x.slice(0, n, n + 1)), gs.push_back(g.slice(0, n, n + 1));
  const Tensor x2 = cat(xs, 0).contiguous(), g2 = cat(gs, 0).contiguous();
  geo.N = int64_t(samples.size());
  const std::vector<float> x2v = x2.to_float_vector(), g2v = g2.to_float_vector();
  std::vector<double> ref(size_t(w.numel()), 0.0);
  std::vector<int64_t> all(samples.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  conv_loop(geo, all, [&](int64_t xi, int64_t wi, int64_t yi) { ref[wi] += double(x2v[xi]) * g2v[yi]; });
  return compare(run_dir(dir, x2, w, g2, o).to_double_vector(), ref, kTolWgrad, "dw");
}

Prepared prepare_conv(Dir dir, const shapes::Conv& s, Device dev) {
  const Geometry geo = conv_geometry(s);
  const Conv2dOptions o = options(s);
  const Tensor x = host_randn({s.N, s.C_in, s.H, s.W}, 11);
  const Tensor w = host_randn({s.C_out, s.C_in / s.groups, s.k, s.k}, 12, 0.1);
  const Tensor g = host_randn({s.N, s.C_out, geo.Ho, geo.Wo}, 13);
  auto st = std::make_shared<State>();
  st->x = x.to(dev), st->w = w.to(dev), st->g = g.to(dev);
  Prepared p;
  p.flops = 2.0 * s.N * s.C_out * geo.Ho * geo.Wo * (s.C_in / s.groups) * s.k * s.k;
  // Each pass reads two of x, w, dy and writes the third, once at least.
  p.bytes = 4.0 * double(x.numel() + w.numel() + g.numel());
  p.bound = Bound::fp32;  // or memory, where the roofline says so (main.cpp)
  if (dir == Dir::fwd) {
    p.ours.run = [st, o] { st->y = conv2d(st->x, st->w, Tensor(), o); };
  } else {
    // Build the forward graph untimed; time the backward alone.
    p.ours.before = [st, o, dir] {
      // Drop the last repeat's graph first, as a training step's is dead when the next
      // forward runs: built while the old y lives, the new y misses the host cache, and the
      // cache (which never lets reserved bytes pass their high mark) would give back dx's
      // block for it, so every timed backward page-faulted a fresh dx (16 ms of the 17 ms
      // simvp16.readout dgrad row).
      st->y = Tensor();
      st->x.zero_grad(), st->w.zero_grad();
      st->x.set_requires_grad(dir == Dir::dgrad);
      st->w.set_requires_grad(dir == Dir::wgrad);
      st->y = conv2d(st->x, st->w, Tensor(), o);
    };
    p.ours.run = [st] { st->y.backward(st->g); };
  }
  if (dev.is_cpu()) {
    p.reference = "direct loop in double";
    p.validate = [dir, s, x, w, g] { return validate_cpu(dir, s, x, w, g); };
    p.yardstick_note = "-";
    return p;
  }
  p.reference = "CPU twin";
  p.validate = [dir, st, x, w, g, o] {
    const Tensor got = run_dir(dir, st->x, st->w, st->g, o);
    const Tensor ref = run_dir(dir, x, w, g, o);
    return compare(got, ref, dir == Dir::fwd ? kTolFwd : dir == Dir::dgrad ? kTolDgrad : kTolWgrad,
                   dir == Dir::fwd ? "y" : dir == Dir::dgrad ? "dx" : "dw");
  };
  if (!vendor::cudnn_missing().empty()) {
    p.yardstick_note = vendor::cudnn_missing();
    return p;
  }
  vendor::ConvDesc d{s.N, s.C_in, s.H, s.W, s.C_out, s.k, s.stride, s.pad, s.dil, s.groups, false};
  st->dnn = std::make_unique<vendor::CudnnConv>(d);
  st->ws = Tensor::empty({int64_t(st->dnn->workspace_bytes() / 4 + 1)}, DType::f32, dev);
  st->dnn->set_workspace(st->ws.data<float>());
  st->y_ref = Tensor::empty(g.shape(), DType::f32, dev);
  st->dx_ref = Tensor::empty(x.shape(), DType::f32, dev);
  st->dw_ref = Tensor::empty(w.shape(), DType::f32, dev);
  p.yardstick_name = "cuDNN";
  if (dir == Dir::fwd)
    p.yardstick.run = [st] { st->dnn->forward(st->x.data<float>(), st->w.data<float>(), st->y_ref.data<float>()); };
  else if (dir == Dir::dgrad)
    p.yardstick.run = [st] {
      st->dnn->backward_data(st->g.data<float>(), st->w.data<float>(), st->dx_ref.data<float>());
    };
  else
    p.yardstick.run = [st] {
      st->dnn->backward_filter(st->x.data<float>(), st->g.data<float>(), st->dw_ref.data<float>());
    };
  return p;
}

// ConvTranspose2d k4 s2 p1, forward. Its CPU reference is the scatter loop
// y[n, co, ih*2 - 1 + kh, iw*2 - 1 + kw] += x[n, ci, ih, iw] w[ci, co, kh, kw].
Prepared prepare_convt(const shapes::ConvT& s, Device dev) {
  const int k = 4, stride = 2, pad = 1;
  const int64_t Ho = (s.H - 1) * stride - 2 * pad + k, Wo = (s.W - 1) * stride - 2 * pad + k;
  const Conv2dOptions o = Conv2dOptions::make(stride, pad);
  const Tensor x = host_randn({s.N, s.C_in, s.H, s.W}, 21);
  const Tensor w = host_randn({s.C_in, s.C_out, k, k}, 22, 0.1);
  auto st = std::make_shared<State>();
  st->x = x.to(dev), st->w = w.to(dev);
  Prepared p;
  p.flops = 2.0 * s.N * s.C_in * s.H * s.W * s.C_out * k * k;
  p.bytes = 4.0 * double(x.numel() + w.numel() + s.N * s.C_out * Ho * Wo);
  p.bound = Bound::fp32;  // or memory, where the roofline says so (main.cpp)
  p.ours.run = [st, o] { st->y = conv_transpose2d(st->x, st->w, Tensor(), o); };
  if (dev.is_cpu()) {
    p.reference = "scatter loop in double";
    p.validate = [s, x, w, o, Ho, Wo] {
      const std::vector<int64_t> samples = first_and_last(s.N);
      std::vector<double> ref = sampled(s.N * s.C_out * Ho * Wo, s.C_out * Ho * Wo, samples);
      const std::vector<float> xv = x.to_float_vector(), wv = w.to_float_vector();
      for (int64_t n : samples)
        for (int64_t ci = 0; ci < s.C_in; ++ci)
          for (int64_t ih = 0; ih < s.H; ++ih)
            for (int64_t iw = 0; iw < s.W; ++iw) {
              const double xval = xv[size_t(((n * s.C_in + ci) * s.H + ih) * s.W + iw)];
              for (int64_t co = 0; co < s.C_out; ++co)
                for (int kh = 0; kh < k; ++kh) {
                  const int64_t oh = ih * stride - pad + kh;
                  if (oh < 0 || oh >= Ho) continue;
                  for (int kw = 0; kw < k; ++kw) {
                    const int64_t ow = iw * stride - pad + kw;
                    if (ow < 0 || ow >= Wo) continue;
                    ref[size_t(((n * s.C_out + co) * Ho + oh) * Wo + ow)] +=
                        xval * wv[size_t(((ci * s.C_out + co) * k + kh) * k + kw)];
                  }
                }
            }
      return compare(conv_transpose2d(x, w, Tensor(), o).to_double_vector(), ref, kTolFwd, "y");
    };
    p.yardstick_note = "-";
    return p;
  }
  p.reference = "CPU twin";
  p.validate = [st, x, w, o] {
    return compare(conv_transpose2d(st->x, st->w, Tensor(), o), conv_transpose2d(x, w, Tensor(), o), kTolFwd, "y");
  };
  if (!vendor::cudnn_missing().empty()) {
    p.yardstick_note = vendor::cudnn_missing();
    return p;
  }
  // ConvTranspose is conv2d's backward-data: the conv maps (N, C_out, Ho, Wo) -> (N, C_in, H, W)
  // with filter (C_in, C_out, k, k), which is exactly the transposed conv's weight layout.
  vendor::ConvDesc d{s.N, s.C_out, Ho, Wo, s.C_in, k, stride, pad, 1, 1, false};
  st->dnn = std::make_unique<vendor::CudnnConv>(d);
  st->ws = Tensor::empty({int64_t(st->dnn->workspace_bytes() / 4 + 1)}, DType::f32, dev);
  st->dnn->set_workspace(st->ws.data<float>());
  st->y_ref = Tensor::empty({s.N, s.C_out, Ho, Wo}, DType::f32, dev);
  p.yardstick_name = "cuDNN";
  p.yardstick.run = [st] { st->dnn->backward_data(st->x.data<float>(), st->w.data<float>(), st->y_ref.data<float>()); };
  return p;
}

}  // namespace

// conv2d's forward, and its backward as the two kernels training runs (dgrad, wgrad).
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::Conv& s) {
  const std::pair<const char*, Dir> dirs[] = {{"conv_fwd", Dir::fwd}, {"conv_dgrad", Dir::dgrad}, {"conv_wgrad", Dir::wgrad}};
  for (const auto& [family, dir] : dirs)
    add_for_devices(out, o, family, e, [&s, dir = dir](Device d) { return prepare_conv(dir, s, d); });
  return {true, true};
}

// conv_transpose2d's forward; its backward gets the generic conv_transpose_fwdbwd row.
Covered add_specialised_rows(std::vector<Case>& out, const BuildOptions& o, const PerfCase& e, const shapes::ConvT& s) {
  add_for_devices(out, o, "conv_transpose", e, [&s](Device d) { return prepare_convt(s, d); });
  return {true, false};
}

}  // namespace sdkd::bench
