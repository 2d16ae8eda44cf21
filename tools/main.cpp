// The `sdkd` command-line tool: one subcommand per pipeline step. Every failure ends in one
// line "sdkd: error: ..." and exit status 2 (1 for internal errors).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sdkd/distributed/process_group.hpp"
#include "sdkd/device.hpp"
#include "sdkd/error.hpp"
#include "tools/commands.hpp"
#include "tools/provenance.hpp"

namespace {
// " (rank 3 of 8)" in a run of several processes, "" otherwise.
std::string rank_note() {
  try {
    const auto launch = sdkd::dist::detect_launch([](const char* v) { return std::getenv(v); });
    return launch.size > 1 ? " (rank " + std::to_string(launch.rank) + " of " + std::to_string(launch.size) + ")" : "";
  } catch (const sdkd::Error&) {
    return "";  // the launcher's variables are what the error is about
  }
}

void usage() {
  std::printf(
      "usage: sdkd <command> [options]   (sdkd <command> --help for its options)\n"
      "       sdkd --version                 version, commit and build type of this binary\n\n"
      "commands:\n"
      "  generate ns   simulate 2-D Navier-Stokes vorticity into a .npy file (presets smoke, demo, fno-1e-5, ...)\n"
      "  train         train a forecaster on a data file (.npy, .mat, .h5; MSE, Adam), keep the best checkpoint\n"
      "  distill       train a student from frozen teachers (sdkd, feature, ab, output KD; aver/aekd)\n"
      "  eval          score a checkpoint against the persistence baseline\n"
      "  report        rewrite report.md and the plots of a finished demo run from its metrics.json\n"
      "  info          parameter count and FLOPs of a model; CUDA devices\n"
      "  demo          the whole pipeline on a preset: generate -> train -> evaluate -> report\n"
      "  study         regimes x KD arms x hyperparameters over paired seeds from a JSON file (--config)\n"
      "  data info     arrays, shapes, layouts and statistics of a data file (.npy, .mat v5/v7.3, .h5)\n\n"
      "docs/USAGE.md has a section per command.\n");
}
}  // namespace

int main(int argc, char** argv) {
  sdkd::tools::record_command_line(argc, argv);  // for the provenance of what this run writes
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "--version") {
    std::printf("%s\n", sdkd::tools::version_line().c_str());
    return 0;
  }
  try {
    // Under mpirun/srun: train, distill and generate share the work; the rest run as one process.
    const auto launch = sdkd::dist::detect_launch([](const char* v) { return std::getenv(v); });
    SDKD_CHECK(launch.size == 1 || cmd == "train" || cmd == "distill" || cmd == "generate", "sdkd ", cmd,
               " runs as one process, but it was launched as rank ", launch.rank, " of ", launch.size, " by ",
               launch.launcher, "; under mpirun or srun run `sdkd train`, `sdkd distill` or `sdkd generate`");
    (void)sdkd::cpu_threads_summary();  // a bad SDKD_PARALLEL_REGION_US fails here, before any work
    if (cmd == "generate") return sdkd::tools::cmd_generate(argc - 1, argv + 1);
    if (cmd == "train") return sdkd::tools::cmd_train(argc - 1, argv + 1);
    if (cmd == "distill") return sdkd::tools::cmd_distill(argc - 1, argv + 1);
    if (cmd == "eval") return sdkd::tools::cmd_eval(argc - 1, argv + 1);
    if (cmd == "report") return sdkd::tools::cmd_report(argc - 1, argv + 1);
    if (cmd == "info") return sdkd::tools::cmd_info(argc - 1, argv + 1);
    if (cmd == "demo") return sdkd::tools::cmd_demo(argc - 1, argv + 1);
    if (cmd == "study") return sdkd::tools::cmd_study(argc - 1, argv + 1);
    if (cmd == "data") return sdkd::tools::cmd_data(argc - 1, argv + 1);
    std::fprintf(stderr, "sdkd: error: unknown command '%s' (expected generate, train, distill, eval, report, info, demo, study or data)\n",
                 cmd.c_str());
    return 2;
  } catch (const sdkd::Error& e) {
    std::fprintf(stderr, "sdkd: error%s: %s\n", rank_note().c_str(), e.what());
    sdkd::dist::abort_run(2);  // the other ranks would wait for this one forever
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdkd: internal error%s: %s\n", rank_note().c_str(), e.what());
    sdkd::dist::abort_run(1);
    return 1;
  }
}
