#pragma once
// One scored model (accuracy on the test split and its cost) and the two forms rows are
// written in: the text table and the "rows" of metrics.json / `sdkd eval --json`.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/image_metrics.hpp"
#include "eval/metrics.hpp"

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

void print_table(const std::vector<EvalRow>& rows, std::ostream& os);
// {"rows": [...]}: each row's metrics, cost and spectra.
nlohmann::json rows_json(const std::vector<EvalRow>& rows);

}  // namespace sdkd::tools
