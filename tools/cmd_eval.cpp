// sdkd eval: score a checkpoint against the persistence baseline on the test split.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "report/figures.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "tools/cli.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, models::Forecaster& model,
                  const std::string& out_dir) {
  const auto split = data::split_indices(ds.trajectories(), preset.value("split_seed", uint64_t(0)));
  const auto windows = ds.windows(split.test);
  auto [x, y] = ds.batch({windows.front()});
  model.eval();
  Tensor pred;
  {
    NoGradGuard ng;
    pred = model.forward(x.to(model.device())).pred.to(Device{}).contiguous();
  }
  const Tensor err = sub(pred, y), pers = sub(eval::persistence(x, y.size(1)), y);
  const int64_t T = y.size(1), H = ds.height(), W = ds.width(), frame = ds.channels() * H * W;
  const Tensor yc = y.contiguous(), ec = err.contiguous(), pc = pers.contiguous();
  std::vector<std::vector<const float*>> panel(4);
  report::PanelStyle style;
  style.row_titles = {"truth", "pred", "error", "persist err"};
  for (int64_t t = 0; t < T; t += std::max<int64_t>(1, T / 5)) {
    panel[0].push_back(yc.data<float>() + t * frame);
    panel[1].push_back(pred.data<float>() + t * frame);
    panel[2].push_back(ec.data<float>() + t * frame);
    panel[3].push_back(pc.data<float>() + t * frame);
    style.col_titles.push_back("t+" + std::to_string(t + 1));
  }
  // Truth and prediction share a colour range; both error rows share the persistence error's.
  float vmax = 0, emax = 0;
  for (float v : yc.to_float_vector()) vmax = std::max(vmax, std::fabs(v));
  for (float v : pc.to_float_vector()) emax = std::max(emax, std::fabs(v));
  style.row_vmax = {vmax, vmax, emax, emax};
  report::write_png_panels((fs::path(out_dir) / "panels.png").string(), panel, int(H), int(W), style);
}

int cmd_eval(int argc, char** argv) {
  cxxopts::Options opts("sdkd eval", "Score a checkpoint and the persistence baseline on the test split");
  opts.add_options()
    ("data", "dataset .npy", cxxopts::value<std::string>())
    ("checkpoint", "model checkpoint (best.safetensors of a run)", cxxopts::value<std::string>())
    ("preset", "preset for the window and split: smoke, demo, paper or a JSON file", cxxopts::value<std::string>()->default_value("demo"))
    ("json", "write the metrics to this JSON file", cxxopts::value<std::string>())
    ("threads", "CPU threads (default: all cores)", cxxopts::value<int>());
  add_device_options(opts);
  cxxopts::ParseResult r;
  if (!parse_options(opts, argc, argv, r)) return 0;
  SDKD_CHECK(r.count("data"), "sdkd eval: --data FILE is required");
  SDKD_CHECK(r.count("checkpoint"), "sdkd eval: --checkpoint FILE is required");
  apply_runtime(r);
  const nlohmann::json preset = load_preset(r["preset"].as<std::string>());
  const std::string data_path = r["data"].as<std::string>();
  SDKD_CHECK(fs::exists(data_path), data_path, ": data file not found");
  const data::SequenceDataset ds(data_path, window_from(preset));
  auto model = load_model(r["checkpoint"].as<std::string>());
  const TestSet ts = test_set(preset, ds);
  const int64_t train_batch = preset.contains("train") ? preset["train"].value("batch_size", int64_t(10)) : 10;
  EvalRow scored = evaluate_model(*model, ds, ts, train_batch);
  scored.role = "model";  // a lone checkpoint: neither teacher nor student of a study
  scored.kd = "-";
  const std::vector<EvalRow> rows = {scored, evaluate_persistence(ds, ts)};
  print_table(rows, std::cout);
  std::printf("\nrelative L2 per lead time:\n");
  for (const auto& row : rows) {
    std::printf("  %-12s", row.model.c_str());
    for (double v : row.metrics.rel_l2_per_lead) std::printf(" %.3f", v);
    std::printf("\n");
  }
  if (r.count("json")) write_text_atomic(r["json"].as<std::string>(), rows_json(rows).dump(2) + "\n");
  return 0;
}

}  // namespace sdkd::tools
