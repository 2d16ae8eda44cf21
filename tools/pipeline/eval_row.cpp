#include "tools/pipeline/eval_row.hpp"

#include <iomanip>
#include <ostream>

namespace sdkd::tools {

void print_table(const std::vector<EvalRow>& rows, std::ostream& os) {
  os << std::left << std::setw(12) << "model" << std::setw(9) << "role" << std::setw(9) << "kd" << std::setw(5)
     << "seed" << std::right << std::setw(9) << "MSE" << std::setw(9) << "MAE" << std::setw(8) << "relL2"
     << std::setw(8) << "SSIM" << std::setw(9) << "params" << std::setw(9) << "GFLOPs" << std::setw(9) << "train s"
     << std::setw(9) << "infer ms" << "\n";
  for (const auto& r : rows) {
    os << std::left << std::setw(12) << r.model << std::setw(9) << r.role << std::setw(9) << r.kd << std::setw(5)
       << r.seed << std::right << std::fixed << std::setprecision(4) << std::setw(9) << r.metrics.mse << std::setw(9)
       << r.metrics.mae << std::setw(8) << r.metrics.rel_l2 << std::setw(8) << r.extra.ssim << std::setw(9)
       << r.params << std::setprecision(3) << std::setw(9) << double(r.flops) * 1e-9 << std::setprecision(1)
       << std::setw(9) << r.train_seconds << std::setprecision(2) << std::setw(9) << r.infer_ms << "\n";
  }
  os.unsetf(std::ios::fixed);
}

nlohmann::json rows_json(const std::vector<EvalRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = r.metrics.to_json();
    j["model"] = r.model;
    j["role"] = r.role;
    j["kd"] = r.kd;
    j["seed"] = r.seed;
    j["ssim"] = r.extra.ssim;
    j["psnr"] = r.extra.psnr;
    j["low_band_err"] = r.extra.low_band_err;
    j["high_band_err"] = r.extra.high_band_err;
    j["spectrum_pred"] = r.extra.spectrum_pred;
    j["spectrum_true"] = r.extra.spectrum_true;
    j["params"] = r.params;
    j["flops"] = r.flops;
    j["train_seconds"] = r.train_seconds;
    j["infer_ms"] = r.infer_ms;
    j["peak_mem_bytes"] = r.peak_mem_bytes;
    a.push_back(j);
  }
  return {{"rows", a}};
}

}  // namespace sdkd::tools
