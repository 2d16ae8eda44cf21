#pragma once
// One scored model (accuracy on the test split and its cost) and the two forms rows are
// written in: the text table and the "rows" of metrics.json / `sdkd eval --json`.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sdkd/eval/image_metrics.hpp"
#include "sdkd/eval/metrics.hpp"

namespace sdkd::tools {

struct EvalRow {
  std::string model, role = "student", kd = "none";
  int64_t seed = 0;
  eval::ForecastMetrics metrics;
  eval::ExtraMetrics extra;
  int64_t params = 0, flops = 0;       // flops: forward, per sample
  double train_seconds = 0, infer_ms = 0;
  int64_t peak_mem_bytes = 0;          // one training step at the preset's batch size (weights, grads, activations)
};

// Which of the table's optional columns mean something for the rows, chosen by the caller: a
// study (`sdkd demo`) has them all; a lone checkpoint (`sdkd eval`) has no KD method or seed of
// a study and no training time measured, so its table leaves those columns out.
struct TableColumns {
  bool kd = true, seed = true, train_seconds = true;
};
inline constexpr TableColumns kLoneCheckpointColumns{.kd = false, .seed = false, .train_seconds = false};

// One line per row: model, role, kd, seed, MSE, MAE, relL2, SSIM, PSNR (dB), params, GFLOPs,
// train s, infer ms (those of `cols` only). Text only: rows_json holds the numbers.
void print_table(const std::vector<EvalRow>& rows, std::ostream& os, TableColumns cols = {});
// {"rows": [...]}: each row's metrics, cost and spectra.
nlohmann::json rows_json(const std::vector<EvalRow>& rows);

}  // namespace sdkd::tools
