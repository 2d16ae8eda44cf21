#include "sdkd/train/run_state.hpp"

#include <cstdio>
#include <cstring>

#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"

namespace sdkd::train {

namespace {

constexpr const char* kOptimPrefix = "optim.";

std::string exact(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::vector<EpochRecord> history_from_json(const std::string& text, const std::string& path, int64_t last_epoch) {
  const std::string where = path + ": metadata history";
  const nlohmann::json a = models::parse_json(text, where);
  SDKD_CHECK(a.is_array() && int64_t(a.size()) <= last_epoch + 1, where, ": expected a list of at most ",
             last_epoch + 1, " epochs");
  std::vector<EpochRecord> h;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string at = str_cat(where, "[", i, "]");
    const auto& r = models::json_object(a[i], at);
    auto number = [&](const char* key) { return models::json_number(models::json_required(r, at, key), at, key); };
    h.push_back({models::json_int(models::json_required(r, at, "epoch"), at, "epoch", 0, last_epoch),
                 number("train_loss"), number("val_mse"), number("seconds")});
  }
  return h;
}

}  // namespace

nlohmann::json history_json(const std::vector<EpochRecord>& h) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : h)
    a.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"val_mse", r.val_mse}, {"seconds", r.seconds}});
  return a;
}

void save_run_state(const std::string& path, const nn::Module& model, const nn::Module* extra, const optim::Adam& opt,
                    Metadata meta, const RunState& state) {
  TensorMap all = model.state_dict();
  if (extra)
    for (const auto& [n, t] : extra->state_dict()) all[kExtraPrefix + n] = t;
  for (const auto& [n, t] : opt.state_dict()) all[kOptimPrefix + n] = t;
  meta["epoch"] = std::to_string(state.epoch);
  meta["best_val_mse"] = exact(state.best_val_mse);
  meta["best_epoch"] = std::to_string(state.best_epoch);
  meta["train_seconds"] = exact(state.train_seconds);
  meta["history"] = history_json(state.history).dump();
  save_tensors(path, all, meta);
}

RunState load_run_state(const std::string& path, nn::Module& model, nn::Module* extra, optim::Adam& opt) {
  Metadata meta;
  TensorMap model_part, extra_part, optim_part;
  const TensorMap all = load_tensors(path, &meta);
  // A run is never continued from non-finite weights or moments (an edited or damaged file:
  // the trainer itself does not save them).
  if (const std::string bad = first_non_finite(all); !bad.empty())
    throw Error(str_cat(path, ": tensor '", bad, "' holds non-finite values (NaN or infinity); this checkpoint "
                        "cannot be resumed"));
  for (auto& [n, t] : all) {
    if (n.rfind(kOptimPrefix, 0) == 0) optim_part[n.substr(std::strlen(kOptimPrefix))] = t;
    else if (n.rfind(kExtraPrefix, 0) == 0) extra_part[n.substr(std::strlen(kExtraPrefix))] = t;
    else model_part[n] = t;
  }
  // The metadata first: a tampered number must not leave a half-restored model behind.
  const std::string where = path + ": metadata";
  RunState s;
  s.epoch = metadata_int(meta, "epoch", path);
  models::check_int(s.epoch, where, "epoch", 0, kMaxEpochs - 1);
  s.best_epoch = metadata_int(meta, "best_epoch", path);
  models::check_int(s.best_epoch, where, "best_epoch", -1, s.epoch);
  s.best_val_mse = metadata_number(meta, "best_val_mse", path);
  models::check_number(s.best_val_mse, where, "best_val_mse");
  s.train_seconds = metadata_number(meta, "train_seconds", path);
  models::check_number(s.train_seconds, where, "train_seconds");
  s.history = history_from_json(metadata_value(meta, "history", path), path, s.epoch);
  if (meta.count(models::kNormalizationKey))
    s.normalization = models::DataNormalization::from_metadata(meta.at(models::kNormalizationKey), path);
  try {
    model.load_state_dict(model_part);
    if (extra) extra->load_state_dict(extra_part);
    else SDKD_CHECK(extra_part.empty(), "holds distillation state ('kd.' entries) but this run has none");
    opt.load_state_dict(optim_part);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what() + " (resume with the same model and distillation settings)");
  }
  return s;
}

}  // namespace sdkd::train
