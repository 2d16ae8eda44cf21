// sdkd-stream-bench: training samples/s with the data file in RAM (--loader ram) against the
// same training streamed from a file that is not in the page cache (--loader stream), the
// measurement of docs/PERFORMANCE.md "Streaming". bench/stream_bench.sh runs it.
//
// Both modes train the same U-Net from the same initial weights on the same shuffled windows
// (train/trainer.cpp's loop: BatchIterator with prefetch, forward, MSE, backward, Adam), so the
// losses must agree bit for bit (checked and printed) and only the loading differs. Their
// epochs interleave in one process (ram, stream, stream, ram, ...), so a drift of the machine's
// speed slows both alike; the rate of a mode is its mean over epochs 2..E.
//
// Keeping the file out of the page cache without root: before every epoch (or every batch,
// --evict batch) the pages of the file are dropped: first from this process's own mappings of
// it (madvise MADV_DONTNEED over the ranges /proc/self/maps lists: the streamed loader maps the
// file, and the kernel never drops a page a process still maps), then from the page cache
// (posix_fadvise POSIX_FADV_DONTNEED). mincore over a fresh mapping then says how much of the
// file is still resident, before the epoch (should be ~0) and after it (what the epoch read).
//
// Output: one line per epoch, a summary table, and --json FILE (one object).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/models/forecaster.hpp"
#include "sdkd/error.hpp"
#include "sdkd/npy.hpp"
#include "sdkd/ops.hpp"
#include "sdkd/optim.hpp"
#include "sdkd/threads.hpp"

using namespace sdkd;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string data, json_out;
  int64_t make = 0, frames = 40, size = 64;  // --make N: write an N x frames x 1 x size x size file first
  int64_t epochs = 4, batch = 10, hidden = 8, max_batches = 0;
  int threads = 2;
  std::string evict = "epoch";
  std::vector<std::string> modes = {"ram", "stream"};
};

[[noreturn]] void usage(const std::string& why) {
  throw Error(str_cat("sdkd-stream-bench: ", why,
                      "\nusage: sdkd-stream-bench --data FILE.npy [--make N [--frames T] [--size H]] [--epochs E] "
                      "[--batch B] [--hidden W] [--threads K] [--evict epoch|batch|none] [--modes ram,stream] "
                      "[--max-batches M] [--json OUT]"));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto integer = [&](int64_t lo) {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo) usage(str_cat(a, " must be an integer >= ", lo, ", got '", v, "'"));
      return int64_t(n);
    };
    if (a == "--data") o.data = value();
    else if (a == "--json") o.json_out = value();
    else if (a == "--make") o.make = integer(2);
    else if (a == "--frames") o.frames = integer(20);
    else if (a == "--size") o.size = integer(8);
    else if (a == "--epochs") o.epochs = integer(1);
    else if (a == "--batch") o.batch = integer(1);
    else if (a == "--hidden") o.hidden = integer(1);
    else if (a == "--threads") o.threads = int(integer(1));
    else if (a == "--max-batches") o.max_batches = integer(0);
    else if (a == "--evict") {
      o.evict = value();
      if (o.evict != "epoch" && o.evict != "batch" && o.evict != "none") usage("--evict must be epoch, batch or none");
    } else if (a == "--modes") {
      o.modes.clear();
      std::stringstream ss(value());
      for (std::string m; std::getline(ss, m, ',');) {
        if (m != "ram" && m != "stream") usage("--modes takes ram and/or stream, got '" + m + "'");
        o.modes.push_back(m);
      }
    } else usage("unknown option " + a);
  }
  if (o.data.empty()) usage("--data is required");
  return o;
}

// A smooth travelling-wave field plus noise, written trajectory by trajectory (bounded memory,
// any file size), to a temp name and renamed.
void make_data(const Options& o) {
  const std::vector<int64_t> shape{o.make, o.frames, 1, o.size, o.size};
  const std::string tmp = o.data + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  SDKD_CHECK(out.good(), "sdkd-stream-bench: cannot write ", tmp);
  const std::string header = npy_header_bytes("f4", shape);
  out.write(header.data(), std::streamsize(header.size()));
  Generator g(12345);
  const int64_t frame = o.size * o.size;
  std::vector<float> traj(size_t(o.frames * frame));
  for (int64_t n = 0; n < o.make; ++n) {
    const Tensor noise = Tensor::randn({o.frames * frame}, g);
    const float* z = noise.data<float>();
    const double kx = 1 + n % 5, ky = 1 + n % 3, phase = 0.1 * double(n);
    for (int64_t t = 0; t < o.frames; ++t)
      for (int64_t i = 0; i < frame; ++i) {
        const double x = double(i % o.size) / double(o.size), y = double(i / o.size) / double(o.size);
        traj[size_t(t * frame + i)] = float(std::sin(2 * M_PI * (kx * x + ky * y) - 0.2 * double(t) + phase) +
                                            0.1 * z[t * frame + i]);
      }
    out.write(reinterpret_cast<const char*>(traj.data()), std::streamsize(traj.size() * sizeof(float)));
  }
  out.close();
  SDKD_CHECK(out.good(), "sdkd-stream-bench: writing ", tmp, " failed (disk full?)");
  std::filesystem::rename(tmp, o.data);
}

// Drops the file's pages from this process's mappings and from the page cache.
void evict(const std::string& path) {
  const std::string real = std::filesystem::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() < real.size() || line.compare(line.size() - real.size(), real.size(), real) != 0) continue;
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2)
      ::madvise(reinterpret_cast<void*>(lo), size_t(hi - lo), MADV_DONTNEED);
  }
  const int fd = ::open(path.c_str(), O_RDONLY);
  SDKD_CHECK(fd >= 0, "sdkd-stream-bench: cannot open ", path);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// The fraction of the file's pages in the page cache (mincore over a fresh shared mapping).
double resident_fraction(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  SDKD_CHECK(fd >= 0, "sdkd-stream-bench: cannot open ", path);
  struct stat st {};
  ::fstat(fd, &st);
  const size_t bytes = size_t(st.st_size), page = size_t(::sysconf(_SC_PAGESIZE));
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  SDKD_CHECK(p != MAP_FAILED, "sdkd-stream-bench: cannot map ", path);
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  const int rc = ::mincore(p, bytes, vec.data());
  ::munmap(p, bytes);
  SDKD_CHECK(rc == 0, "sdkd-stream-bench: mincore failed on ", path);
  size_t resident = 0;
  for (unsigned char v : vec) resident += v & 1;
  return double(resident) / double(vec.size());
}

// The 1-minute load average, for the log: figures taken under load are flagged by it.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

struct EpochResult {
  double seconds = 0, samples_per_s = 0, resident_before = -1, resident_after = -1;
  int64_t samples = 0;
};

struct ModeResult {
  std::string mode, source;
  double open_seconds = 0, resident_after_open = -1;
  std::vector<EpochResult> epochs;
  std::vector<double> losses;
  double steady_samples_per_s() const {  // epoch 1 is warm-up (allocator, caches) when there are more
    double s = 0;
    size_t from = epochs.size() > 1 ? 1 : 0;
    for (size_t e = from; e < epochs.size(); ++e) s += epochs[e].samples_per_s;
    return s / double(epochs.size() - from);
  }
};

// One loader's dataset, model and optimiser: both modes start from the same weights.
struct ModeRun {
  ModeResult r;
  std::unique_ptr<data::SequenceDataset> ds;
  std::vector<std::pair<int64_t, int64_t>> windows;
  std::shared_ptr<models::Forecaster> model;
  std::unique_ptr<optim::Adam> opt;
};

std::unique_ptr<ModeRun> open_mode(const Options& o, const std::string& mode) {
  auto m = std::make_unique<ModeRun>();
  m->r.mode = mode;
  data::DatasetOptions dopt;
  dopt.loader = mode;
  if (mode == "stream") evict(o.data);  // the open-time NaN scan reads from disk too
  const auto t_open = Clock::now();
  m->ds = std::make_unique<data::SequenceDataset>(o.data, data::WindowSpec{10, 10, 10}, dopt);
  m->r.open_seconds = std::chrono::duration<double>(Clock::now() - t_open).count();
  m->r.source = m->ds->source();
  if (mode == "stream") {  // the scan drops what it read behind it: ~0 unless the file was just written
    m->r.resident_after_open = resident_fraction(o.data);
    std::printf("stream opened in %.2f s (NaN/Inf scan of the whole file), file resident after it %.4f\n",
                m->r.open_seconds, m->r.resident_after_open);
  }
  m->windows = m->ds->windows(data::split_indices(m->ds->trajectories(), 0).train);
  models::ModelConfig cfg;
  cfg.name = "unet";
  cfg.hidden = o.hidden;
  cfg.height = m->ds->height();
  cfg.width = m->ds->width();
  Generator g(0);
  m->model = models::make_model(cfg, g);
  m->model->train();
  optim::AdamOptions ao;
  ao.lr = 2e-3;
  m->opt = std::make_unique<optim::Adam>(m->model->named_parameters(), ao);
  return m;
}

// One epoch of train/trainer.cpp's loop, timed from the first batch to the last optimiser step.
void run_epoch(const Options& o, ModeRun& m, int64_t epoch) {
  EpochResult e;
  const bool stream = m.r.mode == "stream";
  if (stream && o.evict != "none") {
    evict(o.data);
    e.resident_before = resident_fraction(o.data);
  }
  data::BatchIterator it(*m.ds, m.windows, o.batch, /*shuffle=*/true, 7, epoch);
  Tensor x, y;
  int64_t batches = 0;
  const auto t0 = Clock::now();
  while ((o.max_batches == 0 || batches < o.max_batches) && it.next(x, y)) {
    const Tensor loss = mse_loss(m.model->forward(x).pred, y);
    m.r.losses.push_back(loss.item());
    m.opt->zero_grad();
    loss.backward();
    m.opt->step();
    e.samples += x.size(0);
    ++batches;
    if (stream && o.evict == "batch") evict(o.data);
  }
  e.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  e.samples_per_s = double(e.samples) / e.seconds;
  if (stream) e.resident_after = resident_fraction(o.data);
  std::printf("%-6s epoch %lld: %6lld samples in %7.2f s = %7.2f samples/s", m.r.mode.c_str(), (long long)epoch + 1,
              (long long)e.samples, e.seconds, e.samples_per_s);
  if (e.resident_before >= 0) std::printf(", file resident before %.4f", e.resident_before);
  if (e.resident_after >= 0) std::printf(", after %.4f", e.resident_after);
  std::printf(" (load %s)\n", load_average().c_str());
  std::fflush(stdout);
  m.r.epochs.push_back(e);
}

// FNV-1a over the bits of every step's loss, with the count: equal exactly when two runs
// trained identically.
std::string loss_digest(const std::vector<double>& losses) {
  uint64_t h = 1469598103934665603ull;
  for (double l : losses) {
    uint64_t bits = 0;
    std::memcpy(&bits, &l, sizeof bits);
    for (int b = 0; b < 8; ++b) h = (h ^ ((bits >> (8 * b)) & 0xff)) * 1099511628211ull;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%zu:%016llx", losses.size(), (unsigned long long)h);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    set_num_threads(o.threads);
    if (o.make > 0 && !std::filesystem::exists(o.data)) make_data(o);
    SDKD_CHECK(std::filesystem::exists(o.data), "sdkd-stream-bench: ", o.data, " does not exist (pass --make N)");
    const double gib = double(std::filesystem::file_size(o.data)) / double(1 << 30);
    std::printf("data %s: %.2f GiB; batch %lld, U-Net hidden %lld, %d threads, evict %s\n", o.data.c_str(), gib,
                (long long)o.batch, (long long)o.hidden, o.threads, o.evict.c_str());
    // The modes' epochs interleave (ram 1, stream 1, stream 2, ram 2, ram 3, ...): a machine
    // whose speed drifts (other jobs, this VM's +-25 %) slows both alike.
    std::vector<std::unique_ptr<ModeRun>> runs;
    for (const auto& m : o.modes) runs.push_back(open_mode(o, m));
    for (int64_t epoch = 0; epoch < o.epochs; ++epoch)
      for (size_t k = 0; k < runs.size(); ++k) run_epoch(o, *runs[epoch % 2 ? runs.size() - 1 - k : k], epoch);
    std::vector<ModeResult> results;
    for (auto& r : runs) results.push_back(r->r);

    json j = {{"data", o.data}, {"file_gib", gib}, {"batch", o.batch}, {"hidden", o.hidden}, {"threads", o.threads},
              {"evict", o.evict}, {"epochs", o.epochs}, {"max_batches", o.max_batches}};
    std::printf("\n%-7s %10s %14s %s\n", "mode", "open s", "samples/s", "source");
    for (const auto& r : results) {
      std::printf("%-7s %10.2f %14.2f %s\n", r.mode.c_str(), r.open_seconds, r.steady_samples_per_s(), r.source.c_str());
      json ep = json::array();
      for (const auto& e : r.epochs)
        ep.push_back({{"seconds", e.seconds}, {"samples", e.samples}, {"samples_per_s", e.samples_per_s},
                      {"resident_before", e.resident_before}, {"resident_after", e.resident_after}});
      j["modes"][r.mode] = {{"open_seconds", r.open_seconds}, {"resident_after_open", r.resident_after_open},
                            {"samples_per_s", r.steady_samples_per_s()},
                            {"source", r.source}, {"epochs", ep}};
    }
    j["loss_digest"] = loss_digest(results.front().losses);  // runs compare their training through it
    if (results.size() == 2) {
      const double ratio = results[1].steady_samples_per_s() / results[0].steady_samples_per_s();
      std::vector<double> pair_ratios;  // epoch by epoch, measured minutes apart at most
      for (size_t e = results[0].epochs.size() > 1 ? 1 : 0; e < results[0].epochs.size(); ++e)
        pair_ratios.push_back(results[1].epochs[e].samples_per_s / results[0].epochs[e].samples_per_s);
      j["epoch_ratios"] = pair_ratios;
      const bool same = results[0].losses == results[1].losses;
      std::printf("\n%s / %s samples/s: %.3f (epochs 2..%lld); losses identical in both modes: %s\n",
                  results[1].mode.c_str(), results[0].mode.c_str(), ratio, (long long)o.epochs, same ? "yes" : "NO");
      j["ratio"] = ratio;
      j["losses_identical"] = same;
      if (!same) std::fprintf(stderr, "sdkd-stream-bench: the two loaders trained differently\n");
    }
    if (!o.json_out.empty()) std::ofstream(o.json_out) << j.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
