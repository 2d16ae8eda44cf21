// TrainConfig from and to JSON, and the ranges every run is checked against before it starts.
#include <vector>

#include "sdkd/models/config_json.hpp"
#include "sdkd/error.hpp"
#include "sdkd/schedule.hpp"
#include "sdkd/train/trainer.hpp"

namespace sdkd::train {

namespace {

using models::NumberRange;

// The integer settings with their ranges, one table for parsing and for checking a config
// built in code. The maxima are far beyond any run (the paper trains 300 epochs at batch 10)
// and keep epochs * steps per epoch far inside 64 bits.
struct IntField {
  const char* key;
  int64_t TrainConfig::*member;
  int64_t lo, hi;
};
const std::vector<IntField>& int_fields() {
  static const std::vector<IntField> fields = {{"epochs", &TrainConfig::epochs, 1, kMaxEpochs},
                                               {"batch_size", &TrainConfig::batch_size, 1, kMaxBatchSize},
                                               {"patience", &TrainConfig::patience, 0, kMaxEpochs},
                                               {"warmup_steps", &TrainConfig::warmup_steps, 0, 1'000'000'000},
                                               {"trajectories", &TrainConfig::trajectories, 0, 1'000'000'000},
                                               {"bucket_kb", &TrainConfig::bucket_kb, 1, int64_t(1) << 22}};
  return fields;
}

// The floating-point settings: all finite, the learning rate positive, the rest >= 0.
struct NumberField {
  const char* key;
  double TrainConfig::*member;
  NumberRange range;
};
const std::vector<NumberField>& number_fields() {
  static const std::vector<NumberField> fields = {{"lr", &TrainConfig::lr, {0, true}},
                                                  {"weight_decay", &TrainConfig::weight_decay, {}},
                                                  {"grad_clip", &TrainConfig::grad_clip, {}},
                                                  {"min_lr", &TrainConfig::min_lr, {}}};
  return fields;
}

}  // namespace

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  TrainConfig c;
  for (const auto& [k, v] : models::json_object(j, where).items()) {
    bool found = true;
    if (k == "adamw") c.adamw = models::json_bool(v, where, k);
    else if (k == "cuda_graph") c.cuda_graph = models::json_bool(v, where, k);
    else if (k == "sync_batchnorm") c.sync_batchnorm = models::json_bool(v, where, k);
    else if (k == "seed") c.seed = models::json_uint(v, where, k);
    else if (k == "schedule") c.schedule = models::json_string(v, where, k);
    else found = false;
    for (const auto& f : int_fields())
      if (k == f.key) {
        c.*f.member = models::json_int(v, where, k, f.lo, f.hi);
        found = true;
      }
    for (const auto& f : number_fields())
      if (k == f.key) {
        c.*f.member = models::json_number(v, where, k, f.range);
        found = true;
      }
    SDKD_CHECK(found, where, ": unknown key '", k,
               "' (known: epochs, batch_size, lr, weight_decay, adamw, grad_clip, patience, seed, "
               "schedule, warmup_steps, min_lr, trajectories, cuda_graph, sync_batchnorm, bucket_kb)");
  }
  c.validate(where);
  return c;
}

void TrainConfig::validate(const std::string& where) const {
  for (const auto& f : int_fields()) models::check_int(this->*f.member, where, f.key, f.lo, f.hi);
  for (const auto& f : number_fields()) models::check_number(this->*f.member, where, f.key, f.range);
  (void)optim::LrSchedule::parse_kind(schedule);  // an unknown name fails here, before any work
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {{"epochs", epochs},     {"batch_size", batch_size},     {"lr", lr},
                      {"weight_decay", weight_decay}, {"adamw", adamw},   {"grad_clip", grad_clip},
                      {"patience", patience}, {"seed", seed},             {"schedule", schedule},
                      {"warmup_steps", warmup_steps}, {"min_lr", min_lr}, {"trajectories", trajectories}};
  // The data-parallel settings only when set: a single-process run records what it always did.
  if (sync_batchnorm) j["sync_batchnorm"] = true;
  if (bucket_kb != TrainConfig{}.bucket_kb) j["bucket_kb"] = bucket_kb;
  return j;
}

}  // namespace sdkd::train
