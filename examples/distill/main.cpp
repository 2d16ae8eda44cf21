// Example (d): distill a student from a teacher in a few lines.
//
//   sdkd_example_distill [out_dir]
//
// Generates small Navier-Stokes data, trains a SimVP teacher, then a U-Net student twice from
// the same initial weights: alone and with SDKD (the teacher's latent features aligned band by
// band in Fourier space). Prints the validation MSE of all three and writes into out_dir the
// distilled student (student.safetensors, loadable by models::load_forecaster and by
// sdkd_example_forecast) and the first validation window's 10 input frames (frames.npy).
// Exits non-zero on an error or when a model fails to beat the persistence forecast; whether
// SDKD beats the student alone at this size is printed, not asserted (at demo scale it does
// not beyond seed noise: docs/RESULTS.md).
#include <cstdio>
#include <filesystem>
#include <vector>

#include <sdkd/datasets/navier_stokes.hpp>
#include <sdkd/datasets/split.hpp>
#include <sdkd/distill/distiller.hpp>
#include <sdkd/eval/metrics.hpp>
#include <sdkd/models/checkpoint_model.hpp>
#include <sdkd/sdkd.hpp>
#include <sdkd/train/trainer.hpp>

using namespace sdkd;

namespace {

models::ModelConfig frames_config(const std::string& name, const data::NSConfig& ns) {
  models::ModelConfig c;
  c.name = name;
  c.in_frames = c.out_frames = 10;
  c.height = c.width = ns.resolution;
  return c;
}

train::TrainConfig run_config(const std::filesystem::path& dir, int64_t epochs) {
  train::TrainConfig t;
  t.epochs = epochs;
  t.batch_size = 8;
  t.lr = 3e-3;
  t.out_dir = dir.string();
  t.quiet = true;
  return t;
}

double val_mse(models::Forecaster& m, const data::SequenceDataset& ds, const data::Split& split) {
  return eval::evaluate([&](const Tensor& x) { return m.predict(x); }, ds, ds.windows(split.val), 16).mse;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::filesystem::path out = argc > 1 ? argv[1] : "sdkd_example_distill";
  std::filesystem::create_directories(out);

  // Data: 40 trajectories of 20 frames at 32^2 (sdkd's "smoke" preset), one 10 -> 10 window each.
  data::NSConfig ns = data::ns_preset("smoke");
  ns.trajectories = 40;
  std::vector<float> frames(size_t(ns.trajectories * ns.frames * ns.resolution * ns.resolution));
  data::generate_ns(ns, frames.data());
  const data::SequenceDataset ds(Tensor::from_vector(frames, {ns.trajectories, ns.frames, 1, ns.resolution, ns.resolution}),
                                 data::WindowSpec{10, 10, 10}, "generated");
  const data::Split split = data::split_indices(ds.trajectories(), 0);

  // The teacher: a small SimVP, trained longer than the students.
  auto tcfg = frames_config("simvp", ns);
  tcfg.hid_S = 8, tcfg.hid_T = 32, tcfg.N_S = 3, tcfg.N_T = 2;
  Generator gt(0);
  auto teacher = models::make_model(tcfg, gt);
  train::train_forecaster(*teacher, ds, split, run_config(out / "teacher", 30));
  teacher->eval();

  // The student alone and distilled, from the same initial weights (Generator(1) each time).
  const auto scfg = frames_config("unet", ns);
  Generator g1(1), g2(1), ga(2);
  auto alone = models::make_model(scfg, g1), student = models::make_model(scfg, g2);
  train::train_forecaster(*alone, ds, split, run_config(out / "alone", 8));

  distill::KDConfig kd;
  kd.method = distill::KDMethod::sdkd;
  kd.lambda = 0.5;
  kd.spectral.alpha = 2.0;
  kd.spectral.cutoffs = {0.25};
  distill::Distiller distiller(kd, *student, {{"simvp", teacher}}, ga);
  train::train_forecaster(*student, ds, split, run_config(out / "student", 8), distiller.hooks());
  student->eval();
  alone->eval();

  const auto windows = ds.windows(split.val);
  const double persistence =
      eval::evaluate([](const Tensor& x) { return eval::persistence(x, 10); }, ds, windows, 16).mse;
  const double t = val_mse(*teacher, ds, split), a = val_mse(*alone, ds, split), s = val_mse(*student, ds, split);
  std::printf("validation MSE: persistence %.5f, teacher %.5f, student alone %.5f, student with SDKD %.5f (%+.1f %%)\n",
              persistence, t, a, s, 100 * (s / a - 1));

  const std::string ckpt = (out / "student.safetensors").string();
  models::save_forecaster(ckpt, *student);
  const Tensor first = ds.batch({windows.front()}).first.select(0, 0).contiguous();  // (10, 1, H, W)
  const auto v = first.to_float_vector();
  write_npy((out / "frames.npy").string(), "f4", first.shape(), v.data());
  std::printf("wrote %s and %s/frames.npy\n", ckpt.c_str(), out.string().c_str());
  return t < persistence && a < persistence && s < persistence ? 0 : 1;
} catch (const sdkd::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
