#pragma once
// Shared pieces of the `sdkd` subcommands: presets, option parsing, the pipeline steps that
// both the single-purpose commands and `sdkd demo` run.
#include <cxxopts.hpp>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/navier_stokes.hpp"
#include "datasets/sequence_dataset.hpp"
#include "eval/image_metrics.hpp"
#include "eval/metrics.hpp"
#include "models/forecaster.hpp"
#include "train/trainer.hpp"

namespace sdkd::distill {
struct TeacherModel;  // distill/distiller.hpp: only `sdkd distill` and `sdkd demo` need distill/
}  // namespace sdkd::distill

namespace sdkd::tools {

const std::map<std::string, std::string>& embedded_presets();  // generated from configs/*.json

// A preset by name (embedded) or a path to a JSON file of the same layout.
nlohmann::json load_preset(const std::string& name_or_path);

// Parses argv with the given options; unknown options and missing values become sdkd::Error
// naming the option. Adds --help; returns false (after printing help) if it was asked for.
bool parse_options(cxxopts::Options& opts, int argc, char** argv, cxxopts::ParseResult& out);

// --device, --deterministic, --gemm (every command that computes takes them).
void add_device_options(cxxopts::Options& opts);
// Applies --threads (default: all cores) and the device options when the command has them:
// checks that a requested CUDA device exists (one clear error otherwise) and makes it the
// device that compute_device() returns.
void apply_runtime(const cxxopts::ParseResult& r);
Device compute_device();
// Moves a model to compute_device() (a no-op on the CPU).
void place(models::Forecaster& model);

// ---- pipeline steps ----
// Generates the Navier-Stokes data of cfg into path (.npy + .json side file) unless an
// identical file (same parameters in the side file) is already there.
void ensure_ns_data(const data::NSConfig& cfg, const std::string& path, bool quiet);
nlohmann::json ns_config_json(const data::NSConfig& cfg);

struct TrainedModel {
  std::shared_ptr<models::Forecaster> model;
  train::TrainResult result;
};

models::ModelConfig model_config_for(const nlohmann::json& model_json, const data::SequenceDataset& data);
// Loads best.safetensors (or any checkpoint with "model" metadata) into a fresh model.
std::shared_ptr<models::Forecaster> load_model(const std::string& checkpoint);

// One scored model: accuracy on the test split and its cost.
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
nlohmann::json rows_json(const std::vector<EvalRow>& rows);

// ---- shared by train and demo ----
void add_train_options(cxxopts::Options& opts);
void apply_train_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset);
data::WindowSpec window_from(const nlohmann::json& preset);
TrainedModel train_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds, const std::string& out_dir,
                               bool resume);
// The test windows of the preset's split and the SSIM/PSNR data range computed from them.
struct TestSet {
  std::vector<std::pair<int64_t, int64_t>> windows;
  double data_range = 1;
  int64_t batch = 20;
};
TestSet test_set(const nlohmann::json& preset, const data::SequenceDataset& ds);
// Scores a model (accuracy, latency, training-step memory) or persistence on the test set.
EvalRow evaluate_model(models::Forecaster& model, const data::SequenceDataset& ds, const TestSet& ts,
                       int64_t train_batch);
EvalRow evaluate_persistence(const data::SequenceDataset& ds, const TestSet& ts);
// Truth / prediction / error panels of one test sample (panels.png).
void write_panels(const nlohmann::json& preset, const data::SequenceDataset& ds, models::Forecaster& model,
                  const std::string& out_dir);
// report.md, lead_time.svg and spectrum.svg of a run folder from its metrics.json content
// (rows, summary_lines, description); `sdkd report` re-runs this on a finished run.
void write_study_report(const std::string& out_dir, const nlohmann::json& metrics);

// Writes <out>/train.json and prints the best validation MSE of a finished run.
void report_run(const TrainedModel& tm, const nlohmann::json& preset, const std::string& out);
void add_kd_options(cxxopts::Options& opts);
void apply_kd_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset);
TrainedModel distill_from_preset(const nlohmann::json& preset, const data::SequenceDataset& ds,
                                 const std::vector<distill::TeacherModel>& teachers, const std::string& out_dir,
                                 bool resume);
// FLOPs of one forward pass per sample (batch of one, counted by the engine's ops).
int64_t flops_per_sample(models::Forecaster& model);

int cmd_generate(int argc, char** argv);
int cmd_distill(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_demo(int argc, char** argv);

}  // namespace sdkd::tools
