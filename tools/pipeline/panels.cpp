#include "tools/pipeline/panels.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/datasets/sequence_dataset.hpp"
#include "sdkd/datasets/split.hpp"
#include "sdkd/models/forecaster.hpp"
#include "report/figures.hpp"
#include "report/palette.hpp"
#include "sdkd/autograd.hpp"
#include "sdkd/error.hpp"
#include "sdkd/ops.hpp"
#include "tools/pipeline/presets.hpp"

namespace sdkd::tools {

namespace fs = std::filesystem;

void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::vector<PanelRun>& runs,
                  const std::string& out_dir) {
  SDKD_CHECK(!runs.empty(), "write_panels: no model to show");
  const auto split = data::split_indices(ds.trajectories(), split_seed(preset));
  const auto windows = ds.windows(split.test);
  SDKD_CHECK(!windows.empty(), "write_panels: the test split has no window");
  const auto [trajectory, start] = windows.front();
  auto [x, y] = ds.batch({windows.front()});
  const int64_t T = y.size(1), H = ds.height(), W = ds.width(), frame = ds.channels() * H * W;
  const Tensor yc = y.contiguous();
  std::vector<Tensor> preds, errs;
  for (const PanelRun& run : runs) {
    run.model->eval();
    NoGradGuard ng;
    preds.push_back(run.model->predict(x.to(run.model->device())).to(Device{}).contiguous());
    errs.push_back(sub(preds.back(), yc).contiguous());
  }

  const size_t n = runs.size();
  std::vector<std::vector<const float*>> panel(1 + 2 * n);
  report::PanelStyle style;
  style.font_scale = 2;
  style.gap = 4;
  style.scale = std::max<int>(1, 192 / int(std::max(H, W)));  // panels about 192 pixels wide
  style.row_titles.push_back("truth");
  style.row_colors.push_back(report::run_color("truth"));
  for (const auto& r : runs) style.row_titles.push_back(r.name), style.row_colors.push_back(report::run_color(r.name));
  for (const auto& r : runs)
    style.row_titles.push_back(r.name + " error"), style.row_colors.push_back(report::run_color(r.name));
  float vmax = 0;
  for (int64_t t = 0; t < T; t += std::max<int64_t>(1, T / 5)) {
    panel[0].push_back(yc.data<float>() + t * frame);
    for (size_t k = 0; k < n; ++k) {
      panel[1 + k].push_back(preds[k].data<float>() + t * frame);
      panel[1 + n + k].push_back(errs[k].data<float>() + t * frame);
    }
    for (int64_t i = 0; i < frame; ++i) vmax = std::max(vmax, std::fabs(yc.data<float>()[t * frame + i]));
    style.col_titles.push_back("t+" + std::to_string(t + 1));
  }
  // Forecasts on the truth's range (an overshoot saturates rather than rescaling the truth);
  // errors on the largest error of any shown model, so the rows compare directly.
  style.row_vmax.assign(1 + n, vmax);
  style.colorbars = {{0, int(1 + n), "vorticity"}, {int(1 + n), int(n), "error"}};
  const int64_t in = ds.spec().input_frames;
  style.title_lines.push_back("test trajectory " + std::to_string(trajectory) + " (first of the test split): frames " +
                              std::to_string(start + 1) + "-" + std::to_string(start + in) + " in, t+k = frame " +
                              std::to_string(start + in) + "+k");
  std::string who;
  for (const auto& r : runs) who += (who.empty() ? "" : " | ") + r.name + (r.detail.empty() ? "" : ": " + r.detail);
  style.title_lines.push_back(who);
  report::write_png_panels((fs::path(out_dir) / "panels.png").string(), panel, int(H), int(W), style);
}

}  // namespace sdkd::tools
