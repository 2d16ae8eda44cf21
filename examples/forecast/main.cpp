// Example (b): load a distilled student and forecast from 10 frames, timing batch-1 latency.
//
//   sdkd_example_forecast CHECKPOINT FRAMES.npy [OUT.npy] [--device cpu|cuda]
//
// CHECKPOINT: a forecaster checkpoint (best.safetensors of `sdkd distill` or `sdkd train`, or
// one written by models::save_forecaster, e.g. by sdkd_example_distill). FRAMES.npy: float32
// (T_in, C, H, W) or (1, T_in, C, H, W), in the data's units: the normalisation the model was
// trained with is stored in the checkpoint and applied inside. Writes the forecast (T_out, C,
// H, W) to OUT.npy (default forecast.npy) and prints the median latency of 20 forecasts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sdkd/models/checkpoint_model.hpp>
#include <sdkd/sdkd.hpp>

using namespace sdkd;

int main(int argc, char** argv) try {
  std::vector<std::string> args;
  Device device;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc)
      device = parse_device(argv[++i]);
    else
      args.emplace_back(argv[i]);
  }
  if (args.size() < 2 || args.size() > 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT FRAMES.npy [OUT.npy] [--device cpu|cuda]\n", argv[0]);
    return 2;
  }
  const std::string out = args.size() == 3 ? args[2] : "forecast.npy";

  auto model = models::load_forecaster(args[0], device);
  const auto& cfg = model->config();
  const NpyArray a = read_npy_expect(args[1], "f4", -1);
  const std::vector<float> values(a.data<float>(), a.data<float>() + a.numel());
  Tensor frames = Tensor::from_vector(values, a.shape);
  if (frames.dim() == 5 && frames.size(0) == 1) frames = frames.select(0, 0);
  SDKD_CHECK(frames.dim() == 4 && frames.size(0) == cfg.in_frames && frames.size(1) == cfg.channels &&
                 frames.size(2) == cfg.height && frames.size(3) == cfg.width,
             args[1], ": expected frames (", cfg.in_frames, ", ", cfg.channels, ", ", cfg.height, ", ", cfg.width,
             ") for this ", cfg.name, ", got ", shape_str(frames.shape()));

  Tensor forecast = models::forecast(*model, frames);  // the first call also warms caches up
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor f = models::forecast(*model, frames);
    (void)f.to_float_vector();  // the result on the host: the latency a caller sees
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const auto v = forecast.to_float_vector();
  write_npy(out, "f4", forecast.shape(), v.data());
  std::printf("%s (%lld parameters) on %s: %lld -> %lld frames of %lldx%lld, batch-1 latency %.2f ms (median of 20); "
              "wrote %s\n",
              cfg.name.c_str(), (long long)model->num_parameters(), device.is_cpu() ? "cpu" : "cuda",
              (long long)cfg.in_frames, (long long)cfg.out_frames, (long long)cfg.height, (long long)cfg.width,
              ms[ms.size() / 2], out.c_str());
  return 0;
} catch (const sdkd::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
