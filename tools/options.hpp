#pragma once
// Command-line options the subcommands share: parsing with one error per mistake, the device
// options, and the training and distillation options that override a preset's sections.
#include <memory>

#include <cxxopts.hpp>
#include <nlohmann/json_fwd.hpp>

namespace sdkd::tools {

// cxxopts::value<T>() for a number (T: int, int64_t, uint64_t, double) whose parse error says
// what was expected; parse_options adds the option's name: "--epochs: 'abc' is not an integer".
template <class T>
std::shared_ptr<cxxopts::Value> number_value();

// Parses argv with the given options; unknown options and missing values become sdkd::Error
// naming the option. Adds --help; returns false (after printing help) if it was asked for.
bool parse_options(cxxopts::Options& opts, int argc, char** argv, cxxopts::ParseResult& out);

// --device, --deterministic, --gemm (every command that computes takes them; applied by
// pipeline/runtime.hpp's apply_runtime).
void add_device_options(cxxopts::Options& opts);

// The options of every command that takes --data: --var and --layout (which array of the file
// and its axis order, datasets/open_dataset.hpp), --normalize (none/zscore, models/
// normalization.hpp) and --loader (auto/ram/stream) override the preset's "data" section;
// --input-frames, --output-frames and --stride its "window" section (pipeline/windows.hpp).
void add_data_options(cxxopts::Options& opts);
void apply_data_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset);

// Options shared by train, distill and demo that override the preset's "model" and "train"
// sections (--threads and the device options included).
void add_train_options(cxxopts::Options& opts);
void apply_train_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset);

// Options shared by distill and demo that override the preset's "kd" section.
void add_kd_options(cxxopts::Options& opts);
void apply_kd_overrides(const cxxopts::ParseResult& r, nlohmann::json& preset);

}  // namespace sdkd::tools
