// The streamed loader against the RAM loader: for every reader path (a C-order .npy straight from
// the mapping, any dtype; Fortran order, other layouts, MAT v5, HDF5 through read_rows and the
// shared conversion) every batch of a shuffled epoch, the moments and the data range must be the
// same bytes, NaN/Inf must give the same error, and a short training run the same losses. Also:
// the loader choice, the prefetch thread (errors rethrown in next(), early exit) and pinned batches.
#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "common/fixtures.hpp"
#include "common/toy.hpp"
#include "data_fixtures.hpp"
#include "sdkd/datasets/hdf5_file.hpp"
#include "sdkd/datasets/loader_choice.hpp"
#include "sdkd/datasets/prefetch.hpp"
#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/eval/image_metrics.hpp"
#include "sdkd/device.hpp"
#include "sdkd/npy.hpp"
#include "sdkd/train/trainer.hpp"

using namespace sdkd;
using namespace sdkd::data;
using Catch::Matchers::Contains;
using sdkd::test::fixture;

namespace {

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// A little-endian float32 .npy in Fortran (column-major) order holding the C-order `values`.
void write_fortran_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  std::string dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  dict += "), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::vector<float> f(values.size());
  const size_t k = shape.size();
  std::vector<int64_t> idx(k, 0);
  for (size_t c = 0; c < values.size(); ++c) {  // C-order index -> column-major position
    int64_t pos = 0, stride = 1;
    for (size_t a = 0; a < k; ++a) pos += idx[a] * stride, stride *= shape[a];
    f[size_t(pos)] = values[c];
    for (size_t a = k; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  std::ofstream out(path, std::ios::binary);
  const uint16_t len = uint16_t(dict.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&len), 2);
  out.write(dict.data(), std::streamsize(dict.size()));
  out.write(reinterpret_cast<const char*>(f.data()), std::streamsize(f.size() * sizeof(float)));
}

DatasetOptions with_loader(DatasetOptions o, const std::string& loader) {
  o.loader = loader;
  return o;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data<float>(), b.data<float>(), size_t(a.numel()) * sizeof(float)) == 0;
}

std::vector<int64_t> all_trajectories(const SequenceDataset& d) {
  std::vector<int64_t> v;
  for (int64_t n = 0; n < d.trajectories(); ++n) v.push_back(n);
  return v;
}

// The file through both loaders: the streamed one must say so and give the RAM bytes for every
// batch of a shuffled epoch (through the prefetching iterator), for one batch of every window,
// and the same moments and target range.
void check_same(const std::string& path, const WindowSpec& w, const DatasetOptions& opts, const std::string& how) {
  CAPTURE(path, opts.var, opts.layout);
  const SequenceDataset ram(path, w, with_loader(opts, "ram"));
  const SequenceDataset str(path, w, with_loader(opts, "stream"));
  CHECK_FALSE(ram.streamed());
  REQUIRE(str.streamed());
  CHECK_THAT(ram.source(), Contains("in memory (--loader ram)"));
  CHECK_THAT(str.source(), Contains(how));
  CHECK_THAT(str.source(), Contains("(--loader stream)"));
  CHECK(ram.name() == str.name());  // teacher reuse must not depend on the loader
  REQUIRE(std::array{ram.trajectories(), ram.frames(), ram.channels(), ram.height(), ram.width()} ==
          std::array{str.trajectories(), str.frames(), str.channels(), str.height(), str.width()});
  const auto traj = all_trajectories(ram);
  const auto ws = ram.windows(traj);
  REQUIRE(ws == str.windows(traj));
  REQUIRE(ws.size() >= 2);

  const auto [xr, yr] = ram.batch(ws);
  const auto [xs, ys] = str.batch(ws);
  CHECK(same_bytes(xr, xs));
  CHECK(same_bytes(yr, ys));
  // The RAM batches against the array itself, so "equal" cannot mean "equally wrong".
  const Tensor& v = ram.values();
  const int64_t frame = ram.channels() * ram.height() * ram.width();
  const auto [n1, s1] = ws.back();
  CHECK(std::memcmp(xr.data<float>() + int64_t(ws.size() - 1) * w.input_frames * frame,
                    v.data<float>() + (n1 * ram.frames() + s1) * frame, size_t(w.input_frames * frame) * 4) == 0);

  BatchIterator a(ram, ws, 3, /*shuffle=*/true, 11, 2), b(str, ws, 3, /*shuffle=*/true, 11, 2);
  Tensor x1, y1, x2, y2;
  int64_t batches = 0;
  while (a.next(x1, y1)) {
    REQUIRE(b.next(x2, y2));
    CHECK(a.batch_windows() == b.batch_windows());
    CHECK(same_bytes(x1, x2));
    CHECK(same_bytes(y1, y2));
    ++batches;
  }
  CHECK_FALSE(b.next(x2, y2));
  CHECK(batches == a.num_batches());

  CHECK(ram.moments(traj) == str.moments(traj));  // the same sums in the same order: equal bits
  CHECK(eval::target_range(ram, ws) == eval::target_range(str, ws));
  CHECK_THROWS_WITH(str.values(), Contains("streamed from the file") && Contains("--loader ram"));
}

}  // namespace

TEST_CASE("streaming: C-order .npy windows come straight from the mapping, bytes equal to RAM", "[streaming]") {
  test::TempDir tmp("stream_npy");
  const std::string mapped = "streamed: each window's frames copied from the memory-mapped .npy";
  // Our own files: float32 (N, T, C, H, W).
  const std::vector<int64_t> s5 = {5, 9, 2, 4, 4};
  const auto v5 = random_values(numel(s5), 1);
  write_npy(tmp / "own.npy", "f4", s5, v5.data());
  check_same(tmp / "own.npy", {2, 3, 2}, {}, mapped);
  // float64 NTHW: the span decoded on the way.
  const std::vector<int64_t> s4 = {4, 7, 6, 6};
  const auto v4 = random_values(numel(s4), 2);
  std::vector<double> d4(v4.begin(), v4.end());
  write_npy(tmp / "f8.npy", "f8", s4, d4.data());
  check_same(tmp / "f8.npy", {2, 2, 1}, {}, mapped);
  // One trajectory stored as THW: still one span per window.
  const std::vector<int64_t> s3 = {8, 5, 5};
  const auto v3 = random_values(numel(s3), 3);
  write_npy(tmp / "thw.npy", "f4", s3, v3.data());
  check_same(tmp / "thw.npy", {2, 2, 3}, {"", "THW"}, mapped);
  // The committed fixtures.
  check_same(fixture("npy_frames4.npy"), {2, 2, 1}, {}, mapped);
  check_same(fixture("npy_frames5.npy"), {2, 2, 1}, {}, mapped);
}

TEST_CASE("streaming: Fortran order and other layouts go through read_rows and the shared conversion",
          "[streaming]") {
  test::TempDir tmp("stream_convert");
  const std::string rows = "streamed: each trajectory a batch needs read from the npy file";
  const std::vector<int64_t> s5 = {4, 7, 2, 4, 4};
  const auto v5 = random_values(numel(s5), 4);
  write_fortran_npy(tmp / "fortran.npy", s5, v5);
  write_npy(tmp / "c.npy", "f4", s5, v5.data());
  check_same(tmp / "fortran.npy", {2, 2, 2}, {}, rows);
  // The Fortran file is the same array: its streamed batches equal the C-order file's.
  const SequenceDataset f(tmp / "fortran.npy", {2, 2, 2}, with_loader({}, "stream"));
  const SequenceDataset c(tmp / "c.npy", {2, 2, 2}, with_loader({}, "stream"));
  const auto ws = c.windows(all_trajectories(c));
  CHECK(same_bytes(f.batch(ws).first, c.batch(ws).first));
  // NHWT (the FNO order saved as .npy) and NTHWC: every value moves.
  const std::vector<int64_t> fno = {3, 6, 6, 9};
  const auto vf = random_values(numel(fno), 5);
  write_npy(tmp / "nhwt.npy", "f4", fno, vf.data());
  check_same(tmp / "nhwt.npy", {2, 3, 2}, {"", "NHWT"}, rows + " and reordered");
  const std::vector<int64_t> nthwc = {3, 5, 4, 4, 2};
  const auto vc = random_values(numel(nthwc), 6);
  write_npy(tmp / "nthwc.npy", "f4", nthwc, vc.data());
  check_same(tmp / "nthwc.npy", {2, 2, 1}, {"", "NTHWC"}, rows + " and reordered");
  // One trajectory with T first but H, W swapped: the rows read are the frames asked for.
  const std::vector<int64_t> twh = {9, 4, 6};
  const auto vt = random_values(numel(twh), 7);
  write_npy(tmp / "twh.npy", "f4", twh, vt.data());
  check_same(tmp / "twh.npy", {2, 2, 1}, {"", "TWH"}, "streamed: the frames a batch needs read from the npy file and reordered");
}

TEST_CASE("streaming: MAT v5 (NHWT, compressed and not) and HDF5 give the RAM loader's bytes", "[streaming]") {
  const std::string rows = "streamed: each trajectory a batch needs read from the ";
  check_same(fixture("mat5_zip.mat"), {2, 2, 1}, {}, rows + "MAT v5 file and reordered");
  check_same(fixture("mat5_plain.mat"), {1, 1, 1}, {"u", ""}, rows + "MAT v5 file and reordered");
  if (!hdf5_supported()) {
    WARN("SKIPPED: this build has no HDF5 support (install libhdf5-dev, reconfigure)");
    return;
  }
  check_same(fixture("h5_mat73.mat"), {2, 2, 1}, {"u", ""}, rows + "MAT v7.3 file and reordered");
  check_same(fixture("h5_plain.h5"), {2, 2, 1}, {"vil/frames", ""}, rows + "HDF5 file");
}

TEST_CASE("streaming: NaN or Inf is found when the file is opened, with the RAM loader's words", "[streaming]") {
  auto message = [](const std::string& path, const DatasetOptions& o) {
    try {
      SequenceDataset(path, {1, 1, 1}, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string n = fixture("npy_nan.npy");
  CHECK_THAT(message(n, with_loader({}, "stream")), Contains(n + ": the array (2, 4, 3, 3) holds NaN at index [1, 2, 0, 1]"));
  CHECK(message(n, with_loader({}, "stream")) == message(n, with_loader({}, "ram")));
  const std::string m = fixture("mat5_plain.mat");
  CHECK_THAT(message(m, with_loader({"holes", ""}, "stream")), Contains("holes (2, 3, 3, 4) holds -Inf at index [0, 0, 1, 1]"));
  CHECK(message(m, with_loader({"holes", ""}, "stream")) == message(m, with_loader({"holes", ""}, "ram")));
}

TEST_CASE("streaming: a layout that spreads every frame over the file is refused, auto loads it", "[streaming]") {
  test::TempDir tmp("stream_refused");
  const std::vector<int64_t> shape = {4, 4, 3, 6};  // H, W, N, T
  const auto v = random_values(numel(shape), 8);
  write_npy(tmp / "hwnt.npy", "f4", shape, v.data());
  CHECK_THROWS_WITH(SequenceDataset(tmp / "hwnt.npy", {2, 2, 2}, with_loader({"", "HWNT"}, "stream")),
                    Contains(tmp / "hwnt.npy" + ": the array (4, 4, 3, 6): cannot stream it: layout HWNT stores H first") &&
                        Contains("--loader ram"));
  const SequenceDataset ram(tmp / "hwnt.npy", {2, 2, 2}, with_loader({"", "HWNT"}, "auto"));
  CHECK_FALSE(ram.streamed());
  CHECK_THROWS_WITH(SequenceDataset(tmp / "hwnt.npy", {2, 2, 2}, with_loader({"", "HWNT"}, "disk")),
                    Contains("--loader / data.loader must be one of auto, ram, stream, got 'disk'"));
}

namespace {
// Resident kB of this process's mappings of `path` (/proc/self/smaps), -1 where unreadable.
int64_t mapped_rss_kib(const std::string& path) {
  std::ifstream in("/proc/self/smaps");
  if (!in) return -1;
  const std::string real = std::filesystem::canonical(path).string();
  int64_t kib = 0;
  bool ours = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17)
      ours = line.size() >= real.size() && line.compare(line.size() - real.size(), real.size(), real) == 0;
    else if (ours && line.rfind("Rss:", 0) == 0)
      kib += std::stoll(line.substr(4));
  }
  return kib;
}
}  // namespace

TEST_CASE("streaming: frames copied from the mapping are unmapped again, the open-time scan too", "[streaming]") {
  test::TempDir tmp("stream_rss");
  const std::vector<int64_t> shape = {40, 20, 1, 32, 32};  // 3.1 MiB
  const auto v = random_values(numel(shape), 10);
  write_npy(tmp / "flow.npy", "f4", shape, v.data());
  const SequenceDataset ds(tmp / "flow.npy", {5, 5, 5}, with_loader({}, "stream"));
  const int64_t file_kib = int64_t(v.size()) * 4 / 1024;
  const int64_t after_open = mapped_rss_kib(tmp / "flow.npy");
  if (after_open < 0) {
    WARN("SKIPPED: /proc/self/smaps is not readable here");
    return;
  }
  CHECK(after_open < file_kib / 8);  // the scan read every page of the file
  BatchIterator it(ds, ds.windows(all_trajectories(ds)), 8, /*shuffle=*/true, 1, 0);
  Tensor x, y;
  int64_t samples = 0;
  while (it.next(x, y)) samples += x.size(0);
  CHECK(samples == 40 * 3);  // every window: every frame of the file was copied
  CHECK(mapped_rss_kib(tmp / "flow.npy") < file_kib / 8);
}

TEST_CASE("loader choice: auto streams above half of the available memory", "[streaming]") {
  const int64_t gib = int64_t(1) << 30;
  CHECK_FALSE(choose_loader("auto", 4 * gib, 10 * gib).stream);
  CHECK(choose_loader("auto", 6 * gib, 10 * gib).stream);
  CHECK(choose_loader("auto", 6 * gib, 10 * gib).why == "--loader auto: 6.0 GiB of float32 values, over half of the 10.0 GiB available");
  CHECK(choose_loader("auto", 5 * gib, 10 * gib).why == "--loader auto: 5.0 GiB of float32 values, under half of the 10.0 GiB available");
  CHECK_FALSE(choose_loader("auto", 100 * gib, -1).stream);  // unknown: RAM, as before streaming existed
  CHECK(choose_loader("stream", 1, 10 * gib).stream);
  CHECK_FALSE(choose_loader("ram", 100 * gib, gib).stream);
  CHECK(bytes_text(1536) == "1.5 KiB");
  CHECK(bytes_text(12) == "12 B");
  // /proc/meminfo, read another way: MemAvailable lies between 0 and MemTotal.
  std::ifstream in("/proc/meminfo");
  int64_t total = -1;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemTotal:", 0) == 0) total = std::stoll(line.substr(9)) * 1024;
  if (total > 0) {
    CHECK(mem_available_bytes() > 0);
    CHECK(mem_available_bytes() <= total);
  }
}

TEST_CASE("prefetch: a worker's exception comes out of next(), an early exit joins the worker", "[streaming]") {
  const SequenceDataset ds = test::noise_flow(3, 6, 2, "noise");
  // The second batch holds a window outside the data: reading it on the worker throws.
  BatchIterator it(ds, {{0, 0}, {1, 2}, {7, 0}}, 2, /*shuffle=*/false, 0, 0);
  Tensor x, y;
  REQUIRE(it.next(x, y));
  CHECK(it.batch_windows() == std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 2}});
  CHECK(same_bytes(x, ds.batch({{0, 0}, {1, 2}}).first));
  CHECK_THROWS_WITH(it.next(x, y), Contains("noise: window (7, 0) outside 3 trajectories of 6 frames"));
  CHECK_FALSE(it.next(x, y));
  {
    BatchIterator early(ds, ds.windows({0, 1, 2}), 1, /*shuffle=*/true, 3, 0);
    REQUIRE(early.next(x, y));  // batch 2 is being read while this one is dropped
  }

  BackgroundJob job;
  int value = 0;
  job.start([&] { value = 42; });
  job.wait();
  CHECK(value == 42);
  job.start([] { throw Error("boom from the worker"); });
  CHECK_THROWS_WITH(job.wait(), "boom from the worker");
  job.wait();  // the error was reported once
  job.start([&] { value = 7; });
  CHECK_THROWS_WITH(job.start([] {}), Contains("has not been waited for"));
  job.wait();
  CHECK(value == 7);
}

TEST_CASE("streaming: a short training run gives bit-identical losses with either loader", "[streaming]") {
  test::TempDir tmp("stream_train");
  const std::vector<int64_t> shape = {12, 6, 1, 8, 8};
  const auto v = random_values(numel(shape), 9);
  write_npy(tmp / "flow.npy", "f4", shape, v.data());
  // The same values in the FNO order: the converted streaming path.
  std::vector<float> nhwt(v.size());
  for (int64_t n = 0; n < 12; ++n)
    for (int64_t t = 0; t < 6; ++t)
      for (int64_t p = 0; p < 64; ++p) nhwt[size_t((n * 64 + p) * 6 + t)] = v[size_t((n * 6 + t) * 64 + p)];
  write_npy(tmp / "flow_nhwt.npy", "f4", {12, 8, 8, 6}, nhwt.data());

  const auto split = split_indices(12, 4);
  train::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 3;
  cfg.lr = 2e-3;
  cfg.quiet = true;
  cfg.seed = 6;
  auto run = [&](const std::string& file, const DatasetOptions& o, const std::string& dir) {
    const SequenceDataset ds(tmp / file, test::kToyWindows, o);
    auto model = test::toy_model(test::toy_unet_config(), 8);
    auto c = cfg;
    c.out_dir = tmp / dir;
    return train::train_forecaster(*model, ds, split, c);
  };
  const auto ram = run("flow.npy", with_loader({}, "ram"), "ram");
  const auto mapped = run("flow.npy", with_loader({}, "stream"), "mapped");
  const auto converted = run("flow_nhwt.npy", with_loader({"", "NHWT"}, "stream"), "converted");
  REQUIRE(ram.step_losses.size() >= 6);
  CHECK(ram.step_losses == mapped.step_losses);
  CHECK(ram.step_losses == converted.step_losses);
  CHECK(ram.best_val_mse == mapped.best_val_mse);
  CHECK(ram.best_val_mse == converted.best_val_mse);
  CHECK(ram.step_losses.front() != ram.step_losses.back());  // it trained: the losses moved
}

TEST_CASE("pinned batches: the same bytes, page-locked and copied to the GPU where one is usable", "[streaming]") {
  const SequenceDataset ds = test::noise_flow(4, 6, 5, "noise");
  const auto ws = ds.windows({0, 2, 3});
  const auto [xp, yp] = ds.batch(ws, /*pinned=*/true);
  const auto [x, y] = ds.batch(ws);
  CHECK(same_bytes(xp, x));
  CHECK(same_bytes(yp, y));
  CHECK_FALSE(x.is_pinned());
  if (!cuda_built() || cuda_device_count() == 0) {
    CHECK_FALSE(xp.is_pinned());  // plain host memory where no GPU could use page-locked memory
    WARN("SKIPPED: pinned host memory needs a CUDA build and a usable GPU (" << cuda_unavailable_reason() << ")");
    return;
  }
  CHECK(xp.is_pinned());
  const Device gpu{DeviceType::cuda, 0};
  // Many batches in flight at once, from reused blocks: every copy must arrive intact.
  BatchIterator it(ds, ds.windows({0, 1, 2, 3}), 2, /*shuffle=*/true, 1, 0, /*pinned=*/true);
  Tensor bx, by;
  std::vector<std::pair<Tensor, std::vector<std::pair<int64_t, int64_t>>>> moved;
  while (it.next(bx, by)) {
    CHECK(bx.is_pinned());
    moved.emplace_back(bx.to(gpu), it.batch_windows());
  }
  for (const auto& [dev, w] : moved) CHECK(same_bytes(dev.to(Device{}), ds.batch(w).first));
  CHECK(same_bytes(xp.to(gpu).to(Device{}), x));
}
