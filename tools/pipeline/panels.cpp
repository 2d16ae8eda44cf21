#include "tools/pipeline/panels.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/sequence_dataset.hpp"
#include "datasets/split.hpp"
#include "eval/metrics.hpp"
#include "models/forecaster.hpp"
#include "report/figures.hpp"
#include "tools/pipeline/presets.hpp"
#include "sdkd/autograd.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, models::Forecaster& model,
                  const std::string& out_dir) {
  const auto split = data::split_indices(ds.trajectories(), split_seed(preset));
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

}  // namespace sdkd::tools
